using System.Text.Json;
using IntegrationApi.Api;
using IntegrationApi.Audit;
using IntegrationApi.Chat;
using IntegrationApi.Engine;
using IntegrationApi.Telemetry;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.OpenAICompatible;

/// <summary>
/// <c>POST /v1/chat/completions</c> on the engine the gRPC surface runs on:
/// <code>
///   bearer ─► body (capped) ─► contract ChatRequest ─► ChatRouting ─► principal limit, budget ─► ChatEngine ─► audit ─► JSON or SSE
/// </code>
/// 1. The caller authenticates as on gRPC (<see cref="BearerAuthentication"/>); a refusal is a 401 and no record.
/// 2. The body becomes the contract's request (<see cref="OpenAIRequestMapping"/>), so the checks, routing, fallbacks
///    and the audit record are the gRPC surface's own; a request refused from here on leaves a record, as on gRPC.
/// 3. The request runs with <see cref="HttpContext.RequestAborted"/>: a client that goes away aborts the upstream call.
/// 4. The audit record is the one a unary call leaves, with <c>surface=openai-http</c> among its metadata.
/// </summary>
internal sealed partial class ChatCompletions(
    ChatEngine engine, ChatRouting routing, RequestIdGenerator ids, IOptions<OpenAICompatibleOptions> options,
    IPrincipalLimiter principalLimiter, AuditTrail audit, BearerAuthentication bearer, TimeProvider time, IHostApplicationLifetime lifetime,
    ILogger<ChatCompletions> logger, Pricing.CallPricer? pricer = null)
{
    /// <summary>The audit metadata key and value naming the surface a request came in on.</summary>
    public const string SurfaceKey = "surface", Surface = "openai-http";

    private static readonly Func<string, CancellationToken, ValueTask> IgnoreText = static (_, _) => ValueTask.CompletedTask;
    private static readonly Grpc.Core.Metadata NoMetadata = [];

    public async Task HandleAsync(HttpContext context)
    {
        if (await bearer.AuthenticateAsync(context).ConfigureAwait(false) is not { } principal) return;
        if (await ReadBodyAsync(context, options.Value.MaxRequestBodyBytes).ConfigureAwait(false) is not { } body) return;
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            await OpenAIErrors.WriteAsync(context, 503, "the server is shutting down; retry", "unavailable").ConfigureAwait(false);
            return;
        }

        var requestId = ids.Next();
        context.Response.Headers["x-request-id"] = requestId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var span = GatewayTracing.StartUnaryRequest(NoMetadata, requestId, "");
        span?.SetTag("integration_api.surface", Surface);
        var proto = new Proto.ChatRequest();
        var tags = CallTags(context.Request.Headers);
        var responder = new CompletionResponder(context, "chatcmpl-" + requestId, body.Model ?? "", time.GetUtcNow().ToUnixTimeSeconds(),
            body.Stream == true, body.StreamOptions?.IncludeUsage == true);
        ChatOutcome? outcome = null;
        try
        {
            PreparedRequest prepared;
            try
            {
                OpenAIRequestMapping.Fill(proto, body, context.Request.Headers);
                prepared = routing.Prepare(proto, null);
                var tools = OpenAIRequestMapping.ToTools(body);
                if (tools.Length > 0)
                    prepared = prepared with { Targets = prepared.Targets.Select(t => t with { Request = t.Request with { Tools = tools } }).ToArray() };
            }
            catch (ChatRequestException ex)
            {
                await RefuseAsync(ChatErrors.From(ex)).ConfigureAwait(false);
                return;
            }
            GatewayTracing.Routed(span, prepared.Targets);
            await using var lease = await principalLimiter.AcquireAsync(principal, context.RequestAborted).ConfigureAwait(false);
            if (lease.Refusal is { } refused)
            {
                await RefuseAsync(refused).ConfigureAwait(false);
                return;
            }
            if (pricer?.OverBudget(principal) is { } overBudget)
            {
                await RefuseAsync(overBudget).ConfigureAwait(false);
                return;
            }
            var onText = body.Stream == true ? responder.WriteTextAsync : IgnoreText;
            outcome = await engine.RunAsync(prepared.Targets, prepared.HedgeAfter, requestId, onText, context.RequestAborted).ConfigureAwait(false);
            if (pricer is not null) outcome = pricer.Price(principal, outcome);
            var terminal = ProtoMapping.Terminal(outcome, "");
            audit.Record(principal, tags, null, proto, terminal, outcome);
            GatewayTracing.EndRequest(span, terminal.Code, outcome);
            await responder.CompleteAsync(outcome, outcome.Provider + "/" + outcome.Model).ConfigureAwait(false);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: the engine aborted the upstream call. A request that had already ended was recorded.
            if (outcome is not null) return;
            var error = ChatErrors.CancelledByClient();
            audit.Record(principal, tags, null, proto, ProtoMapping.Failure(requestId, "", error));
            GatewayTracing.EndRequest(span, error.Code, null);
            Log.ClientGone(logger, requestId);
        }
        catch (Exception ex) when (outcome is null)
        {
            Log.Failed(logger, requestId, ex);
            await RefuseAsync(ChatErrors.InternalError()).ConfigureAwait(false);
        }

        async Task RefuseAsync(ChatError error)
        {
            audit.Record(principal, tags, null, proto, ProtoMapping.Failure(requestId, "", error));
            GatewayTracing.EndRequest(span, error.Code, null);
            await responder.FailAsync(error).ConfigureAwait(false);
        }
    }

    /// <summary>The body, or null once a 400 (not JSON, not the expected shape) or 413 (over the cap) was written.</summary>
    private static async Task<CompletionRequest?> ReadBodyAsync(HttpContext context, int maxBytes)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = maxBytes;
        if (context.Request.ContentLength > maxBytes)
        {
            await OpenAIErrors.WriteAsync(context, 413, $"the request body is larger than {maxBytes} bytes", "request_too_large").ConfigureAwait(false);
            return null;
        }
        try
        {
            var body = await JsonSerializer.DeserializeAsync(context.Request.Body, OpenAIWireContext.Default.CompletionRequest, context.RequestAborted).ConfigureAwait(false);
            if (body is not null) return body;
            await OpenAIErrors.WriteAsync(context, 400, "the request body must be a JSON object").ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            // The reader's message names our types; the path and line are what the caller needs.
            await OpenAIErrors.WriteAsync(context, 400, $"the request body is not a valid chat completion request (at JSON path {ex.Path ?? "$"}, line {ex.LineNumber})").ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await OpenAIErrors.WriteAsync(context, 413, $"the request body is larger than {maxBytes} bytes", "request_too_large").ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            // A body Kestrel could not read (e.g. cut short): its own status, with OpenAI's body.
            await OpenAIErrors.WriteAsync(context, ex.StatusCode, "the request body could not be read").ConfigureAwait(false);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away while sending: nothing to answer, nothing ran.
        }
        return null;
    }

    /// <summary>The gRPC surface's enrichment (<c>AuditTrail.CallTags</c>) from the same header names, and the surface.</summary>
    private static Dictionary<string, string> CallTags(IHeaderDictionary headers)
    {
        var metadata = new Grpc.Core.Metadata();
        foreach (var name in (string[])["x-client-source", "x-rapida-environment", "x-rapida-region"])
            if (headers[name].ToString() is { Length: > 0 } value && IsMetadataSafe(value)) metadata.Add(name, value);
        var tags = new Dictionary<string, string>(AuditTrail.CallTags(metadata)) { [SurfaceKey] = Surface };
        return tags;
    }

    private static bool IsMetadataSafe(string value) => value.All(c => c is >= ' ' and <= '~');

    private static partial class Log
    {
        [LoggerMessage(310, LogLevel.Information, "OpenAI-compatible request {RequestId}: the client went away; the upstream call was aborted")]
        public static partial void ClientGone(ILogger logger, ulong requestId);

        [LoggerMessage(311, LogLevel.Error, "OpenAI-compatible request {RequestId} failed unexpectedly")]
        public static partial void Failed(ILogger logger, ulong requestId, Exception exception);
    }
}
