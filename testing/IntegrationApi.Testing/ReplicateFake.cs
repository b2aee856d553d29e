using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace IntegrationApi.Testing;

/// <summary>
/// A loopback Replicate (https://replicate.com/docs/topics/predictions/streaming): <c>POST /v1/models/{owner}/{name}/predictions</c> (or <c>/v1/predictions</c>
/// with a version) answers 201 with <c>urls</c> pointing back here; <c>GET urls.stream</c> streams <c>output</c> events
/// (plain text, an <c>id:</c> each, a leading <c>: hi</c>), then <c>done</c>; <c>GET urls.get</c> has the metrics;
/// <c>POST urls.cancel</c> is recorded. <see cref="FakeProviderServer.Requests"/> holds the create calls; the stream's
/// chunks and abort count on them.
/// </summary>
public sealed class ReplicateFake : FakeProviderServer
{
    private readonly ConcurrentDictionary<string, (RecordedRequest Request, FakeScript Script)> _predictions = new();
    private readonly ConcurrentQueue<string> _cancelled = new();
    private readonly TaskCompletionSource _firstCancel = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _next;

    public static async Task<ReplicateFake> StartNewAsync(int port = 0)
    {
        var fake = new ReplicateFake();
        await fake.StartAsync(port).ConfigureAwait(false);
        return fake;
    }

    /// <summary>Ids of the predictions the client cancelled.</summary>
    public IReadOnlyList<string> CancelledPredictions => _cancelled.ToArray();

    /// <summary>Completes when the first prediction is cancelled.</summary>
    public Task FirstCancel => _firstCancel.Task;

    /// <summary>When set, rewrites each URL of a created prediction: (kind: get, cancel or stream; URL) → URL to return.</summary>
    public Func<string, string, string>? RewriteUrl { get; set; }

    protected override int UnaryStatus => 201;

    protected override bool StreamsOnSideRoute => true;

    protected override (string Method, string Path) VerifyRoute => ("GET", "/v1/account");

    protected override string VerifyBody => """{"type":"user","username":"test","name":"Test","github_url":null}""";

    protected override (int Status, string Body)? CheckCredential(RecordedRequest request) =>
        request.Header("authorization") == "Bearer " + ValidKey ? null : (401, Problem(401, "Unauthenticated", "You did not pass a valid authentication token"));

    protected override (int Status, string Body)? Reject(RecordedRequest request)
    {
        var official = request.Path.StartsWith("/v1/models/", StringComparison.Ordinal) && request.Path.EndsWith("/predictions", StringComparison.Ordinal);
        if (request.Method != "POST" || !(official || request.Path == "/v1/predictions")) return (404, Problem(404, "Not found", "The requested resource could not be found."));
        if (CheckCredential(request) is { } refused) return refused;
        if (request.Json is not { ValueKind: JsonValueKind.Object } json || !json.TryGetProperty("input", out var input) || !input.TryGetProperty("prompt", out _))
            return (422, Problem(422, "Input validation failed", "- input.prompt: prompt is required"));
        if (!official && !json.TryGetProperty("version", out _)) return (422, Problem(422, "Input validation failed", "- version: version is required"));
        return null;
    }

    /// <summary>The create call answers with the prediction; the answer streams from <c>urls.stream</c>.</summary>
    protected override bool IsStreaming(RecordedRequest request) => false;

    protected override string ErrorBody(int status, FakeScript script) => Problem(status, status switch
    {
        429 => "Too many requests",
        401 => "Unauthenticated",
        >= 500 => "Internal server error",
        _ => "Invalid request",
    }, script.ErrorMessage);

    protected override string UnaryBody(RecordedRequest request, FakeScript script)
    {
        var id = "gm3qorzdhgbfurvjtvhg" + Interlocked.Increment(ref _next).ToString("D6");
        _predictions[id] = (request, script);
        var root = BaseUrl[..^BasePath.Length];
        var rewrite = RewriteUrl ?? ((_, url) => url);
        return Prediction(id, "starting", request, new JsonObject
        {
            ["cancel"] = rewrite("cancel", $"{root}/v1/predictions/{id}/cancel"),
            ["get"] = rewrite("get", $"{root}/v1/predictions/{id}"),
            ["stream"] = rewrite("stream", $"{root}/v1/files/stream-{id}"),
            ["web"] = $"https://replicate.com/p/{id}",
        }).ToJsonString();
    }

    protected override async Task<bool> TryHandleSideRouteAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var sideRoute = path.StartsWith("/v1/files/", StringComparison.Ordinal) || path.StartsWith("/v1/predictions/", StringComparison.Ordinal);
        if (sideRoute && context.Request.Headers.Authorization != "Bearer " + ValidKey)
        {
            context.Response.StatusCode = 401;
            await context.Response.WriteAsync(Problem(401, "Unauthenticated", "You did not pass a valid authentication token")).ConfigureAwait(false);
            return true;
        }
        if (path.StartsWith("/v1/files/stream-", StringComparison.Ordinal) && _predictions.TryGetValue(path["/v1/files/stream-".Length..], out var streamed))
        {
            await StreamOnSideRouteAsync(context, streamed.Request, streamed.Script).ConfigureAwait(false);
            return true;
        }
        if (path.StartsWith("/v1/predictions/", StringComparison.Ordinal))
        {
            var rest = path["/v1/predictions/".Length..];
            var cancel = rest.EndsWith("/cancel", StringComparison.Ordinal);
            var id = cancel ? rest[..^"/cancel".Length] : rest;
            if (!_predictions.TryGetValue(id, out var found)) return false;
            if (cancel)
            {
                _cancelled.Enqueue(id);
                _firstCancel.TrySetResult();
            }
            var body = Prediction(id, cancel ? "canceled" : "succeeded", found.Request, null);
            body["output"] = new JsonArray(found.Script.TextChunks.Select(t => (JsonNode)t!).ToArray());
            body["metrics"] = new JsonObject
            {
                ["predict_time"] = 0.41, ["input_token_count"] = found.Script.InputTokens, ["output_token_count"] = found.Script.OutputTokens,
                ["time_to_first_token"] = 0.09, ["tokens_per_second"] = 42.1,
            };
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(body.ToJsonString()).ConfigureAwait(false);
            return true;
        }
        return false;
    }

    protected override FakeStreamPlan StreamPlan(RecordedRequest request, FakeScript script)
    {
        var content = script.TextChunks.Select((t, i) => Output(i, t)).ToList();
        return new FakeStreamPlan([": hi\n\n"], content, ["event: done\nid: 1698774371:0\ndata: {}\n\n"]);
    }

    protected override string InBandErrorFrame(FakeScript script) =>
        "event: error\nid: 1698774371:0\ndata: " + new JsonObject { ["detail"] = script.ErrorMessage }.ToJsonString() + "\n\n" +
        "event: done\nid: 1698774371:1\ndata: {\"reason\":\"error\"}\n\n";

    protected override string MalformedFrame => "event: done\nid: 1698774371:0\ndata: {\"reason\":\n\n";

    /// <summary>An output event: one <c>data:</c> line per text line; SSE strips one space after the colon, so it is doubled.</summary>
    private static string Output(int index, string text)
    {
        var sb = new StringBuilder("event: output\nid: 1698774370:").Append(index).Append('\n');
        foreach (var line in text.Split('\n')) sb.Append("data: ").Append(line).Append('\n');
        return sb.Append('\n').ToString();
    }

    private static JsonObject Prediction(string id, string status, RecordedRequest request, JsonObject? urls)
    {
        var prediction = new JsonObject
        {
            ["id"] = id,
            ["model"] = request.Path.StartsWith("/v1/models/", StringComparison.Ordinal) ? request.Path["/v1/models/".Length..^"/predictions".Length] : "custom",
            ["version"] = "dp-e8a3b4",
            ["input"] = request.Json?.TryGetProperty("input", out var input) == true ? JsonNode.Parse(input.GetRawText()) : null,
            ["logs"] = "", ["output"] = null, ["data_removed"] = false, ["error"] = null,
            ["status"] = status, ["created_at"] = "2025-06-01T10:00:00.000Z",
        };
        if (urls is not null) prediction["urls"] = urls;
        return prediction;
    }

    private static string Problem(int status, string title, string detail) =>
        new JsonObject { ["title"] = title, ["detail"] = detail, ["status"] = status }.ToJsonString();
}
