using System.Collections;
using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Telemetry;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using OpenTelemetry.Trace;
using static IntegrationApi.Tests.Infrastructure.TestRequests;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>
/// The span tree (docs/observability.md, Traces), exported in memory. Activity listeners are process-wide, so a test's
/// exporter also sees other tests' spans: each test sends its own <c>traceparent</c> and reads only that trace.
/// </summary>
public sealed class TracingTests
{
    private const string Prompt = "the secret prompt text";

    [Fact]
    public async Task StreamedRequestWithARetry_StreamSpan_RequestSpanLinkedAndParentedToTheCaller_TwoAttemptSpans()
    {
        var spans = new SpanList();
        await using var gateway = await TestGateway.StartAsync(services: s => s.AddGatewayTracing(t => t.AddInMemoryExporter(spans)));
        gateway.OpenAI.Enqueue(FakeScript.Error(503));
        using var caller = CallerSpan();
        using (var stream = gateway.OpenStream("openai"))
        {
            await stream.SendAsync(gateway.NewChat("openai", Prompt, "r1"));
            var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);
            Assert.True(terminal.Success, terminal.Describe());
            await stream.CompleteAsync();
            await stream.ReadToEndAsync();
        }

        var trace = spans.Of(caller.TraceId);
        var streamSpan = Assert.Single(trace, s => s.Source.Name == GatewayTracing.SourceName && s.DisplayName == "StreamChat");
        Assert.Equal(ActivityKind.Internal, streamSpan.Kind);
        Assert.Equal(1L, streamSpan.GetTagItem(TraceAttributes.StreamRequests));

        var request = Assert.Single(trace, s => s.Source.Name == GatewayTracing.SourceName && s.Kind == ActivityKind.Server);
        Assert.Equal("chat gpt-4o-mini", request.DisplayName);
        CallerClientSpan(trace, request.ParentSpanId);                            // a child of the caller's context,
        Assert.Equal(streamSpan.Context, Assert.Single(request.Links).Context);   // linked to its stream, not under it
        Assert.Equal("chat", request.GetTagItem(TraceAttributes.OperationName));
        Assert.Equal("openai", request.GetTagItem(TraceAttributes.ProviderName));
        Assert.Equal("gpt-4o-mini", request.GetTagItem(TraceAttributes.RequestModel));
        Assert.Equal("gpt-4o-mini", request.GetTagItem(TraceAttributes.ResponseModel));
        Assert.Equal(9L, request.GetTagItem(TraceAttributes.InputTokens));
        Assert.Equal(7L, request.GetTagItem(TraceAttributes.OutputTokens));
        Assert.Equal(["stop"], (string[])request.GetTagItem(TraceAttributes.FinishReasons)!);
        Assert.IsType<double>(request.GetTagItem(TraceAttributes.TimeToFirstToken));
        Assert.Equal("r1", request.GetTagItem(TraceAttributes.ClientRequestId));
        Assert.NotNull(request.GetTagItem(TraceAttributes.RequestId));
        Assert.Equal(2, request.GetTagItem(TraceAttributes.Attempts));
        Assert.Equal(200, request.GetTagItem(TraceAttributes.ResponseCode));
        Assert.Equal(ActivityStatusCode.Unset, request.Status);

        // One span per upstream call, each with the HttpClient span of that call under it.
        var attempts = trace.Where(s => s.ParentSpanId == request.SpanId).OrderBy(s => s.StartTimeUtc).ToArray();
        Assert.Equal(2, attempts.Length);
        Assert.All(attempts, a =>
        {
            Assert.Equal(ActivityKind.Client, a.Kind);
            Assert.Equal("chat gpt-4o-mini", a.DisplayName);
            Assert.Equal("openai", a.GetTagItem(TraceAttributes.ProviderName));
            Assert.Single(trace, s => s.ParentSpanId == a.SpanId && s.Kind == ActivityKind.Client); // HTTP POST
        });
        Assert.Equal(1, attempts[0].GetTagItem(TraceAttributes.Attempt));
        Assert.Equal("retried", attempts[0].GetTagItem(TraceAttributes.AttemptResult));
        Assert.Equal("503", attempts[0].GetTagItem(TraceAttributes.ErrorType));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Equal(2, attempts[1].GetTagItem(TraceAttributes.Attempt));
        Assert.Equal("succeeded", attempts[1].GetTagItem(TraceAttributes.AttemptResult));
        Assert.Equal(9L, attempts[1].GetTagItem(TraceAttributes.InputTokens));
        Assert.Equal(ActivityStatusCode.Unset, attempts[1].Status);

        AssertNoSecrets(trace);
    }

    [Fact]
    public async Task UnaryRequestWithAFallback_AnAttemptSpanPerUpstreamCall_OfEachTarget()
    {
        var spans = new SpanList();
        await using var gateway = await TestGateway.StartAsync(services: s => s.AddGatewayTracing(t => t.AddInMemoryExporter(spans)));
        gateway.OpenAI.On("\"model\":\"gpt-4o-mini\"", FakeScript.Error(503));
        using var caller = CallerSpan();
        var chat = gateway.NewChat("openai", Prompt);
        chat.Fallbacks.Add(new Proto.ChatTarget { ModelParameters = { ["model.name"] = Param(Value.ForString("gpt-backup")) } });
        var response = await gateway.ChatAsync("openai", chat);
        Assert.True(response.Success, response.Describe());

        var trace = spans.Of(caller.TraceId);
        var request = Assert.Single(trace, s => s.Source.Name == GatewayTracing.SourceName && s.GetTagItem(TraceAttributes.RequestId) is not null);
        Assert.Equal(ActivityKind.Internal, request.Kind); // under the call's ASP.NET Core span, itself under the caller's
        var server = Assert.Single(trace, s => s.SpanId == request.ParentSpanId);
        Assert.Equal(ActivityKind.Server, server.Kind);
        CallerClientSpan(trace, server.ParentSpanId);
        Assert.Equal("gpt-backup", request.GetTagItem(TraceAttributes.ResponseModel));
        Assert.Equal(4, request.GetTagItem(TraceAttributes.Attempts));
        var attempts = trace.Where(s => s.ParentSpanId == request.SpanId).OrderBy(s => s.StartTimeUtc).ToArray();
        Assert.Equal(["gpt-4o-mini", "gpt-4o-mini", "gpt-4o-mini", "gpt-backup"], attempts.Select(a => (string)a.GetTagItem(TraceAttributes.RequestModel)!));
        Assert.Equal(["retried", "retried", "failed", "succeeded"], attempts.Select(a => (string)a.GetTagItem(TraceAttributes.AttemptResult)!));
        AssertNoSecrets(trace);
    }

    [Theory]
    [InlineData(null, null, false, false)]
    [InlineData(null, "http://collector:4317", true, false)]
    [InlineData("console", null, false, true)]
    [InlineData("otlp,console", null, true, true)]
    [InlineData("none", "http://collector:4317", false, false)]
    public void Exporters_FollowTheStandardVariables(string? exporter, string? endpoint, bool otlp, bool console)
    {
        var environment = new Dictionary<string, string?> { ["OTEL_TRACES_EXPORTER"] = exporter, ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint };
        Assert.Equal((otlp, console), TracingServiceCollectionExtensions.Exporters(k => environment.GetValueOrDefault(k)));
    }

    /// <summary>
    /// The caller's own span, current while the test calls: the gRPC client's HTTP span is its child and sends that
    /// span's <c>traceparent</c> in the call's metadata (a hand-written header would be replaced by the client's own).
    /// </summary>
    private static Activity CallerSpan() =>
        new Activity("caller").SetParentId(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start();

    /// <summary>
    /// The caller's gRPC client span (whose <c>traceparent</c> the call carried), by id; in the caller's trace (the spans
    /// are filtered by its trace id), under the caller span (via Grpc.Net.Client's own activity, not exported).
    /// </summary>
    private static Activity CallerClientSpan(IReadOnlyList<Activity> trace, ActivitySpanId id)
    {
        var span = Assert.Single(trace, s => s.SpanId == id);
        Assert.Equal(("System.Net.Http", ActivityKind.Client), (span.Source.Name, span.Kind));
        return span;
    }

    /// <summary>No prompt, key or caller secret in any name, attribute or status of the trace.</summary>
    private static void AssertNoSecrets(IReadOnlyList<Activity> trace)
    {
        string[] secrets = [Prompt, "test-key", TestGateway.JwtSecret, TestGateway.ApiKey];
        var texts = trace.SelectMany(s => s.TagObjects.Select(t => $"{t.Key}={(t.Value is IEnumerable e and not string ? string.Join(",", e.Cast<object>()) : t.Value)}")
            .Append(s.DisplayName).Append(s.StatusDescription ?? "")).ToArray();
        Assert.NotEmpty(texts);
        var leaked = texts.Where(t => secrets.Any(secret => t.Contains(secret, StringComparison.Ordinal))).ToArray();
        Assert.True(leaked.Length == 0, "Secrets in spans:\n" + string.Join("\n", leaked));
    }

    /// <summary>The in-memory exporter's target: exports come from any thread, the test reads a snapshot.</summary>
    private sealed class SpanList : ICollection<Activity>
    {
        private readonly List<Activity> _spans = [];

        public IReadOnlyList<Activity> Of(ActivityTraceId traceId)
        {
            lock (_spans) return _spans.Where(s => s.TraceId == traceId).ToArray();
        }

        public Activity[] All() { lock (_spans) return _spans.ToArray(); }
        public void Add(Activity item) { lock (_spans) _spans.Add(item); }
        public void Clear() { lock (_spans) _spans.Clear(); }
        public bool Contains(Activity item) { lock (_spans) return _spans.Contains(item); }
        public void CopyTo(Activity[] array, int arrayIndex) { lock (_spans) _spans.CopyTo(array, arrayIndex); }
        public bool Remove(Activity item) { lock (_spans) return _spans.Remove(item); }
        public int Count { get { lock (_spans) return _spans.Count; } }
        public bool IsReadOnly => false;
        public IEnumerator<Activity> GetEnumerator() { lock (_spans) return _spans.ToList().GetEnumerator(); }
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
