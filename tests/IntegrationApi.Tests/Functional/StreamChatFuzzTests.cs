using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.ExceptionServices;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>
/// Seeded, bounded fuzzing of <c>StreamChat</c> against the real service (contract §3):
/// <list type="bullet">
/// <item>protobuf-level mutants of valid requests on one long-lived stream: each accepted CHAT gets exactly one
/// terminal with an allowed code (never 500/502), the stream survives, known-good requests in between succeed,
/// half-close ends the call OK and a new stream works;</item>
/// <item>messages the server cannot decode (nesting past the parser's limit, garbage, invalid UTF-8 in a
/// <c>string</c>, bad length prefixes, a compressed flag without an encoding, noise), sent with the gRPC client or
/// as raw HTTP/2 frames: the call ends with INVALID_ARGUMENT (RESOURCE_EXHAUSTED also allowed for an oversize
/// length prefix), after the request in flight got its terminal, and the server goes on serving.</item>
/// </list>
/// A failure names the seed, the mutant index and what was done to it.
/// </summary>
public sealed class StreamChatFuzzTests(ITestOutputHelper output)
{
    private const string SlowPrompt = "slowpoke";
    private const int BatchSize = 12;
    private const int ControlEvery = 50;
    private static readonly string ControlText = new FakeScript().Text;
    private static readonly HashSet<int> InFlightCodes = [200, 499];

    // ---- generator 1: protobuf-level mutants ------------------------------------------------------------------

    [Theory]
    [InlineData(101, null, 300)]
    [InlineData(202, null, 300)]
    [InlineData(303, "gemini", 150)]
    [InlineData(404, "anthropic", 150)]
    public Task ProtobufMutants_OneLongStream_EachGetsOneAllowedTerminal_StreamSurvives(int seed, string? service, int count) =>
        WithGatewayAsync(async gateway =>
        {
            var clock = Stopwatch.StartNew();
            var failures = new List<string>();
            var providers = service is null ? TestRequests.Providers : [service];
            var mutator = new ProtoMutator(new Random(seed), (p, prompt, id) => gateway.NewChat(p, prompt, id), providers, llmService: service is null);
            var run = new MutantRun(gateway, service, seed, failures, output);
            var undecodable = await run.RunAsync(mutator, count);

            // Undecodable mutants (the default parser refuses them) end the call: a few, each on its own stream.
            foreach (var m in undecodable.GroupBy(m => m.Notes.FirstOrDefault()?.Split(' ')[0]).Select(g => g.First()).Take(3))
            {
                var problem = await UndecodableAfterInFlightAsync(gateway, service, stream => stream.SendAsync(m.Request), [StatusCode.InvalidArgument]);
                if (problem is not null) failures.Add($"seed {seed} {m.Describe()} [undecodable by the default parser]: {problem}");
            }
            if (undecodable.Count > 0 && await ControlOnNewStreamAsync(gateway, service) is { } sick) failures.Add($"seed {seed}, after the undecodable ones: {sick}");
            output.WriteLine($"seed {seed}: {count} mutants, {undecodable.Count} undecodable, {clock.ElapsedMilliseconds} ms; codes {run.CodeHistogram()}");
            Report(failures, $"seed {seed}, service {service ?? "LlmService"}");
        });

    /// <summary>Mutants whose nesting exceeds the protobuf recursion limit cannot be decoded: the call ends INVALID_ARGUMENT after the request in flight.</summary>
    [Theory]
    [InlineData(501)]
    [InlineData(502)]
    public Task DeeplyNestedMessages_PastTheParserLimit_EndCallInvalidArgument_AfterInFlightTerminal(int seed) =>
        WithGatewayAsync(async gateway =>
        {
            var rng = new Random(seed);
            var failures = new List<string>();
            var cases = new (string What, Func<Proto.ChatRequest, int, string> Apply)[]
            {
                ("credential.value", (r, d) => { r.Credential.Value.Fields["deep"] = Nest(d, rng); return $"credential.value nested {d} deep"; }),
                ("content.meta", (r, d) => { r.Conversations[0].Contents[0].Meta = new Struct { Fields = { ["deep"] = Nest(d, rng) } }; return $"content.meta nested {d} deep"; }),
                ("tool items", (r, d) => { r.ToolDefinitions.Add(ProtoMutator.DeepTool(d)); return $"tool parameters nested {d} levels through items"; }),
            };
            foreach (var (what, apply) in cases)
            {
                var request = gateway.NewChat("openai", "deep", "deep");
                var description = apply(request, what == "tool items" ? 52 + rng.Next(9) : 60 + rng.Next(141));
                Assert.Throws<InvalidProtocolBufferException>(() => Proto.ChatRequest.Parser.ParseFrom(request.ToByteArray())); // harness check
                var problem = await UndecodableAfterInFlightAsync(gateway, "openai", stream => stream.SendAsync(request), [StatusCode.InvalidArgument]);
                if (problem is not null) failures.Add($"seed {seed}, {description}: {problem}");
            }
            if (await ControlOnNewStreamAsync(gateway, "openai") is { } sick) failures.Add($"seed {seed}, afterwards: {sick}");
            Report(failures, $"seed {seed}");
        });

    // ---- generator 2: raw frames ------------------------------------------------------------------------------

    /// <summary>The raw HTTP/2 harness itself: valid frames get their terminals and the call ends OK.</summary>
    [Fact]
    public Task RawHarness_ValidFrames_TerminalsThenStatusOk() =>
        WithGatewayAsync(async gateway =>
        {
            using var http = RawGrpcCall.CreateClient(gateway);
            await using var call = RawGrpcCall.Start(http, "/integration_api.OpenAiService/StreamChat");
            await call.SendAsync(RawGrpcCall.Frame(gateway.NewChat("openai", "one", "a")));
            await call.SendAsync(RawGrpcCall.Frame(gateway.NewChat("openai", "two")));
            call.CompleteBody();
            var (messages, status, message) = await call.ReadToEndAsync();
            Assert.Equal(0, status);
            var terminals = messages.Where(ChatStream.IsTerminal).ToList();
            Assert.Equal(new[] { "", "a" }, terminals.Select(t => t.ClientRequestId).Order().ToArray());
            Assert.All(terminals, t => Assert.True(t.Success, t.Describe()));
            Assert.Null(message);
        });

    [Theory]
    [InlineData("truncated", 601)]
    [InlineData("oversize-prefix", 602)]
    [InlineData("compressed-without-encoding", 603)]
    [InlineData("garbage-protobuf", 604)]
    [InlineData("invalid-utf8-string", 605)]
    [InlineData("noise", 606)]
    [InlineData("noise", 607)]
    public Task RawFrames_UndecodableMessage_EndsCallInvalidArgument_AfterInFlightTerminal_ServerGoesOn(string kind, int seed) =>
        WithGatewayAsync(async gateway =>
        {
            var rng = new Random(seed);
            var failures = new List<string>();
            var maxMessage = gateway.App.Services.GetRequiredService<IOptions<ConnectionOptions>>().Value.MaxReceiveMessageSize;
            gateway.OpenAI.On(SlowPrompt, SlowScript);
            using var http = RawGrpcCall.CreateClient(gateway);
            for (var round = 0; round < 3; round++)
            {
                var bad = BadBytes(kind, rng, gateway, maxMessage);
                var problem = await RawRoundAsync(http, gateway, bad);
                output.WriteLine($"seed {seed} round {round}: {bad.Description} -> {problem ?? "as expected"}");
                if (problem is not null) failures.Add($"seed {seed} round {round}, {bad.Description}: {problem}");
            }

            // The server goes on: a new call (gRPC client) works.
            if (await ControlOnNewStreamAsync(gateway, "openai") is { } sick) failures.Add($"seed {seed}, afterwards: {sick}");
            Report(failures, $"raw {kind}, seed {seed}");
        });

    // ---- the long stream --------------------------------------------------------------------------------------

    /// <summary>Runs mutants in batches on one stream; on a dead stream, finds which mutant killed it and reopens.</summary>
    private sealed class MutantRun(TestGateway gateway, string? service, int seed, List<string> failures, ITestOutputHelper output)
    {
        private const int MaxDeaths = 20;
        private const int MaxHangs = 1;
        /// <summary>A mutant alone on a new stream gets this long (a hang there is already known from the batch).</summary>
        private static readonly TimeSpan AloneLimit = TimeSpan.FromSeconds(5);
        private readonly Dictionary<int, int> _codes = [];
        private int _deaths;
        private int _hangs;

        public string CodeHistogram() => string.Join(", ", _codes.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}×{kv.Value}"));

        /// <summary>Sends <paramref name="count"/> mutants; returns the undecodable ones (not sent).</summary>
        public async Task<List<Mutant>> RunAsync(ProtoMutator mutator, int count)
        {
            var rng = new Random(seed * 7919);
            var undecodable = new List<Mutant>();
            var ghosts = new List<string>();
            var index = 0;
            var controls = 0;
            var stream = Open();
            try
            {
                while (index < count)
                {
                    var batch = new List<Mutant>();
                    while (batch.Count < BatchSize && index < count)
                    {
                        var i = index++;
                        var m = mutator.Next(i, $"s{seed}-{i}");
                        if (m.Undecodable) { undecodable.Add(m); continue; }
                        var roll = rng.Next(25);
                        var tagged = batch.Where(b => !b.IsCancel && b.Id.Length > 0).ToList();
                        if (roll == 0 && tagged.Count > 0 && m.Id == $"s{seed}-{i}")
                        {
                            var twin = tagged[rng.Next(tagged.Count)];
                            m.Request.ClientRequestId = twin.Id;
                            m.Notes.Add($"same clientRequestId as #{twin.Index}");
                            m.Extra.Add(409);
                            twin.Extra.Add(409);
                        }
                        batch.Add(m);
                        if (roll == 1 && m.Id.Length > 0)
                        {
                            batch.Add(Cancel(i, m.Provider, m.Id, $"CANCEL of #{i}"));
                            foreach (var same in batch.Where(b => b.Id == m.Id)) same.Extra.Add(499);
                        }
                        if (roll == 2)
                        {
                            var ghost = rng.Next(3) == 0 ? "" : $"s{seed}-ghost-{i}";
                            if (ghost.Length > 0) ghosts.Add(ghost);
                            batch.Add(Cancel(i, m.Provider, ghost, $"CANCEL of unknown id \"{ghost}\""));
                        }
                    }
                    if (index / ControlEvery > controls || index >= count)
                        batch.Add(mutator.Control(index, $"s{seed}-good-{controls++}"));

                    var outcome = await SendBatchAsync(stream, batch);
                    if (outcome == BatchOutcome.Hung && ++_hangs > MaxHangs)
                    {
                        failures.Add($"seed {seed}: hung more than {MaxHangs} time(s); stopped at mutant #{index}");
                        return undecodable;
                    }
                    if (outcome == BatchOutcome.Died && ++_deaths > MaxDeaths)
                    {
                        failures.Add($"seed {seed}: the stream died more than {MaxDeaths} times; stopped at mutant #{index}");
                        return undecodable;
                    }
                    if (outcome != BatchOutcome.Ok)
                    {
                        stream.Dispose(); // cancels the call
                        stream = Open();
                    }
                }

                // Half-close: the call ends OK, nothing answered a cancel of an unknown id, nothing came for ids never sent.
                await stream.Call.RequestStream.CompleteAsync().DefaultTimeout();
                await stream.WaitUntilAsync(() => false);
                if (stream.EndStatus?.StatusCode != StatusCode.OK)
                    failures.Add($"seed {seed}: after half-close the call ended with {stream.Describe()}, not OK");
                var strays = stream.All.Where(r => ghosts.Contains(r.ClientRequestId) || !stream.SentIds.Contains(r.ClientRequestId)).ToList();
                if (strays.Count > 0)
                    failures.Add($"seed {seed}: responses for ids never sent as CHAT (e.g. a CANCEL of an unknown id answered): " +
                        string.Join(", ", strays.Take(5).Select(r => $"\"{ProtoMutator.Show(r.ClientRequestId)}\" {r.Describe()}")));
            }
            catch (TimeoutException)
            {
                failures.Add($"seed {seed}: the call did not end within {TaskTimeoutExtensions.Limit.TotalSeconds} s of the half-close (hung)");
            }
            finally
            {
                stream.Dispose();
            }
            if (await ControlOnNewStreamAsync(gateway, service) is { } sick) failures.Add($"seed {seed}, a new stream afterwards: {sick}");
            return undecodable;
        }

        private FuzzStream Open() => new(gateway.OpenStream(service));

        private static Mutant Cancel(int index, string provider, string id, string note)
        {
            var m = new Mutant(index, provider, new Proto.ChatRequest { Action = Proto.ChatAction.Cancel, ClientRequestId = id });
            m.Notes.Add(note);
            return m;
        }

        private enum BatchOutcome { Ok, Died, Hung }

        private async Task<BatchOutcome> SendBatchAsync(FuzzStream stream, List<Mutant> batch)
        {
            var chats = batch.Where(m => !m.IsCancel).ToList();
            var expected = chats.GroupBy(m => m.Id).ToDictionary(g => g.Key, g => g.ToList());
            var baseline = expected.Keys.ToDictionary(id => id, id => stream.Terminals(id).Count);
            try
            {
                foreach (var m in batch)
                {
                    if (!m.IsCancel) stream.SentIds.Add(m.Id);
                    await stream.Call.RequestStream.WriteAsync(m.Request).DefaultTimeout();
                }
            }
            catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException)
            {
                // The call is over; what came back is judged below.
            }

            bool AllArrived() => expected.All(kv => stream.Terminals(kv.Key).Count - baseline[kv.Key] >= kv.Value.Count);
            bool arrived, hung = false;
            try { arrived = await stream.WaitUntilAsync(AllArrived); }
            catch (TimeoutException)
            {
                (arrived, hung) = (false, true);
                var missing = expected.Where(kv => stream.Terminals(kv.Key).Count - baseline[kv.Key] < kv.Value.Count).SelectMany(kv => kv.Value);
                failures.Add($"seed {seed}: the stream is open but no terminal came within {TaskTimeoutExtensions.Limit.TotalSeconds} s (hung) for: " +
                    string.Join(" | ", missing.Take(5).Select(m => m.Describe())));
            }

            // Every terminal that came: the right number per id, allowed codes, consistent fields.
            foreach (var (id, group) in expected)
            {
                var got = stream.Terminals(id).Skip(baseline[id]).ToList();
                foreach (var t in got) _codes[t.Code] = _codes.GetValueOrDefault(t.Code) + 1;
                if (got.Count > group.Count)
                    failures.Add($"seed {seed}: {got.Count} terminals for {group.Count} request(s) with id \"{ProtoMutator.Show(id)}\": " +
                        string.Join(" | ", group.Select(m => m.Describe())) + " got " + string.Join(", ", got.Select(t => t.Describe())));
                if (group.Count == 1 || id.Length == 0)
                {
                    // One request per id, or untagged ones (answered in arrival order).
                    for (var k = 0; k < Math.Min(got.Count, group.Count); k++) Judge(group[k], got[k]);
                }
                else
                {
                    var allowed = group.SelectMany(m => m.Allowed).Append(409).ToHashSet();
                    foreach (var t in got.Where(t => !allowed.Contains(t.Code) || !Consistent(t)))
                        failures.Add($"seed {seed}: terminal {t.Describe()} not allowed for duplicate id group " + string.Join(" | ", group.Select(m => m.Describe())));
                }
            }
            if (arrived) return BatchOutcome.Ok;
            if (hung) return BatchOutcome.Hung;

            // The stream died: judge it, then find the mutant that kills a stream on its own.
            var suspects = expected.Where(kv => stream.Terminals(kv.Key).Count - baseline[kv.Key] < kv.Value.Count).SelectMany(kv => kv.Value).ToList();
            var culprits = new List<string>();
            foreach (var suspect in suspects.Where(s => !s.IsControl))
            {
                var alone = await AloneAsync(suspect);
                if (alone is not null) culprits.Add($"{suspect.Describe()} → {alone}");
                if (alone == "hung") break; // bounded: one slow isolation per death
            }
            failures.Add($"seed {seed}: the stream died with {stream.Describe()} while {suspects.Count} request(s) had no terminal; " +
                (culprits.Count > 0 ? "alone on a new stream: " + string.Join(" || ", culprits)
                    : "none of them fails alone: " + string.Join(" | ", suspects.Take(6).Select(m => m.Describe()))));
            output.WriteLine(failures[^1]);
            return BatchOutcome.Died;
        }

        private void Judge(Mutant m, Proto.ChatResponse t)
        {
            if (!m.Allowed.Contains(t.Code))
                failures.Add($"seed {seed}: {m.Describe()} got {t.Describe()}");
            else if (!Consistent(t))
                failures.Add($"seed {seed}: {m.Describe()} got an inconsistent terminal: code {t.Code} success {t.Success} error {t.Error?.ErrorCode}");
            else if (m.IsControl && t.Text() != ControlText)
                failures.Add($"seed {seed}: {m.Describe()} answered \"{t.Text()}\", not \"{ControlText}\"");
        }

        /// <summary>The mutant alone on a new stream, followed by a known-good request and a half-close: null when all is well.</summary>
        private async Task<string?> AloneAsync(Mutant m)
        {
            using var stream = Open();
            try
            {
                stream.SentIds.Add(m.Id);
                await stream.Call.RequestStream.WriteAsync(m.Request).DefaultTimeout();
                if (!await stream.WaitUntilAsync(() => stream.Terminals(m.Id).Count > 0, AloneLimit))
                    return $"killed the stream: {stream.Describe()}";
                var t = stream.Terminals(m.Id)[0];
                if (!m.Allowed.Contains(t.Code)) return $"got {t.Describe()}";
                var control = gateway.NewChat(m.Provider, "control", "alone-control");
                if (service is null) control.ProviderName = m.Provider;
                await stream.Call.RequestStream.WriteAsync(control).DefaultTimeout();
                if (!await stream.WaitUntilAsync(() => stream.Terminals("alone-control").Count > 0, AloneLimit))
                    return $"the stream died after its terminal ({t.Describe()}): {stream.Describe()}";
                await stream.Call.RequestStream.CompleteAsync().DefaultTimeout();
                await stream.WaitUntilAsync(() => false, AloneLimit);
                return stream.EndStatus?.StatusCode == StatusCode.OK ? null : $"after half-close: {stream.Describe()}";
            }
            catch (TimeoutException) { return "hung"; }
            catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException) { return $"killed the stream: {stream.Describe()} ({ex.GetType().Name})"; }
        }
    }

    /// <summary>§3.3: success exactly when 200; a failure names its code in <c>error</c>; a finish reason on every terminal.</summary>
    private static bool Consistent(Proto.ChatResponse t) =>
        t.FinishReason.Length > 0 && t.RequestId != 0 &&
        (t.Code == 200 ? t.Success && t.FinishReason != "error" : !t.Success && t.Error is not null && t.Error.ErrorCode == (ulong)t.Code);

    // ---- undecodable after a request in flight ----------------------------------------------------------------

    private static readonly FakeScript SlowScript = new() { TextChunks = ["s", "l", "o", "w", "!"], ChunkGap = TimeSpan.FromMilliseconds(30) };

    /// <summary>
    /// Opens a stream, starts a slow request and waits for its first delta, then sends something undecodable: the
    /// call must end with one of <paramref name="statuses"/>, after the slow request got exactly one terminal (200 or
    /// 499). Returns null when so, else what happened.
    /// </summary>
    private static async Task<string?> UndecodableAfterInFlightAsync(TestGateway gateway, string? service, Func<ChatStream, Task> sendBad, StatusCode[] statuses)
    {
        var provider = service ?? "openai";
        gateway.Fake(provider).On(SlowPrompt, SlowScript);
        using var chat = gateway.OpenStream(service);
        using var stream = new FuzzStream(chat);
        var slow = gateway.NewChat(provider, SlowPrompt, "in-flight");
        if (service is null) slow.ProviderName = provider;
        try
        {
            stream.SentIds.Add("in-flight");
            await chat.SendAsync(slow);
            if (!await stream.WaitUntilAsync(() => stream.All.Any(r => r.ClientRequestId == "in-flight")))
                return $"the call ended before the in-flight request answered: {stream.Describe()}";
            try { await sendBad(chat); }
            catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException) { }
            await stream.WaitUntilAsync(() => false);
        }
        catch (TimeoutException)
        {
            return $"the call did not end within {TaskTimeoutExtensions.Limit.TotalSeconds} s (hung); in-flight terminals so far: {stream.Terminals("in-flight").Count}";
        }
        var problems = new List<string>();
        if (stream.EndStatus?.StatusCode is not { } code || !statuses.Contains(code))
            problems.Add($"call ended with {stream.Describe()}, expected {string.Join(" or ", statuses)}");
        var terminals = stream.Terminals("in-flight");
        if (terminals.Count != 1 || !InFlightCodes.Contains(terminals[0].Code))
            problems.Add($"the in-flight request got {terminals.Count} terminal(s) [{string.Join(", ", terminals.Select(t => t.Describe()))}], expected one 200 or 499");
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    private sealed record BadCase(string Description, byte[] Bytes, bool EndBody, int[] Statuses);

    /// <summary>
    /// One seeded raw case: a slow valid request first (its first delta read, so it is in flight), then
    /// <paramref name="bad"/>. The call must end with an allowed grpc-status, after the slow request's one terminal.
    /// </summary>
    private static async Task<string?> RawRoundAsync(HttpClient http, TestGateway gateway, BadCase bad)
    {
        await using var call = RawGrpcCall.Start(http, "/integration_api.OpenAiService/StreamChat");
        var messages = new List<Proto.ChatResponse>();
        int? status;
        string? detail;
        try
        {
            await call.SendAsync(RawGrpcCall.Frame(gateway.NewChat("openai", SlowPrompt, "in-flight")));
            if (await call.ReadAsync() is not { } first) return $"the call ended before the in-flight request answered: grpc-status {call.Status().Status}";
            messages.Add(first);
            await call.SendAsync(bad.Bytes);
            if (bad.EndBody) call.CompleteBody();
            var rest = await call.ReadToEndAsync();
            messages.AddRange(rest.Messages);
            (status, detail) = (rest.Status, rest.Message);
        }
        catch (TimeoutException)
        {
            return $"the call did not end within {TaskTimeoutExtensions.Limit.TotalSeconds} s (hung); {messages.Count} response(s) so far";
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidDataException)
        {
            return $"the HTTP/2 stream failed instead of ending with a gRPC status: {ex.GetType().Name}: {ex.Message}";
        }
        var problems = new List<string>();
        if (status is not { } s || !bad.Statuses.Contains(s))
            problems.Add($"grpc-status {status?.ToString() ?? "missing"} ({(status is { } st ? ((StatusCode)st).ToString() : "-")}, \"{detail}\"), expected {string.Join(" or ", bad.Statuses.Select(x => $"{x} ({(StatusCode)x})"))}");
        var terminals = messages.Where(r => r.ClientRequestId == "in-flight" && ChatStream.IsTerminal(r)).ToList();
        if (terminals.Count != 1 || !InFlightCodes.Contains(terminals[0].Code))
            problems.Add($"the in-flight request got {terminals.Count} terminal(s) [{string.Join(", ", terminals.Select(t => t.Describe()))}], expected one 200 or 499");
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    private static BadCase BadBytes(string kind, Random rng, TestGateway gateway, int maxMessage)
    {
        const int Invalid = (int)StatusCode.InvalidArgument;
        const int Exhausted = (int)StatusCode.ResourceExhausted;
        var valid = gateway.NewChat("openai", "after", "after").ToByteArray();
        switch (kind)
        {
            case "truncated":
            {
                if (rng.Next(4) == 0)
                {
                    var headerBytes = 1 + rng.Next(4);
                    return new($"a message header cut after {headerBytes} of 5 bytes, then EOF", RawGrpcCall.Frame(valid)[..headerBytes], true, [Invalid]);
                }
                var declared = valid.Length + 1 + rng.Next(1000);
                var sent = rng.Next(valid.Length + 1);
                return new($"length prefix {declared} with {sent} bytes of data, then EOF", RawGrpcCall.Frame(valid, length: (uint)declared)[..(5 + sent)], true, [Invalid]);
            }
            case "oversize-prefix":
            {
                uint[] lengths = [(uint)maxMessage + 1, (uint)maxMessage + 1 + (uint)rng.Next(1 << 20), int.MaxValue, 0x80000000u + (uint)rng.Next(), uint.MaxValue];
                var length = lengths[rng.Next(lengths.Length)];
                var data = rng.Next(200);
                return new($"length prefix {length} (max {maxMessage}) with {data} bytes, body left open",
                    RawGrpcCall.Frame(valid, length: length)[..(5 + Math.Min(data, valid.Length))], false, [Invalid, Exhausted]);
            }
            case "compressed-without-encoding":
            {
                var flag = rng.Next(3) == 0 ? (byte)(2 + rng.Next(254)) : (byte)1;
                var gzip = rng.Next(2) == 0;
                var payload = gzip ? Gzip(valid) : valid;
                return new($"compressed flag {flag} on a {(gzip ? "gzip" : "plain")} valid message, no grpc-encoding, body left open",
                    RawGrpcCall.Frame(payload, flag), false, [Invalid]);
            }
            case "garbage-protobuf":
            {
                var (what, payload) = GarbageProtobuf(rng, valid);
                Assert.Throws<InvalidProtocolBufferException>(() => Proto.ChatRequest.Parser.ParseFrom(payload)); // harness check
                return new($"{what}, body left open", RawGrpcCall.Frame(payload), false, [Invalid]);
            }
            case "invalid-utf8-string":
            {
                var (what, payload) = InvalidUtf8InString(rng, gateway);
                Assert.Throws<InvalidProtocolBufferException>(() => Proto.ChatRequest.Parser.ParseFrom(payload)); // harness check
                return new($"invalid UTF-8 in {what}, body left open", RawGrpcCall.Frame(payload), false, [Invalid]);
            }
            case "noise":
            {
                for (var attempt = 0; ; attempt++)
                {
                    var noise = new byte[1 + rng.Next(64)];
                    rng.NextBytes(noise);
                    if (rng.Next(2) == 0) noise[0] = (byte)rng.Next(2); // a plausible flag half the time
                    if (ClassifyNoise(noise, maxMessage) is { } statuses)
                        return new($"{noise.Length} noise bytes {Convert.ToHexString(noise.AsSpan(0, Math.Min(12, noise.Length)))}…, then EOF", noise, true, statuses);
                }
            }
            default: throw new ArgumentException(kind);
        }
    }

    /// <summary>What the first frame in <paramref name="noise"/> must end the call with; null when it decodes (draw again).</summary>
    private static int[]? ClassifyNoise(byte[] noise, int maxMessage)
    {
        const int Invalid = (int)StatusCode.InvalidArgument;
        if (noise.Length < 5) return [Invalid];                                   // a cut header, then EOF
        var length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(noise.AsSpan(1));
        if (length > (uint)maxMessage) return [Invalid, (int)StatusCode.ResourceExhausted];
        if (noise[0] > 1) return [Invalid];                                        // not a flag
        if (noise.Length < 5 + length) return [Invalid];                           // cut message, then EOF
        if (noise[0] == 1) return [Invalid];                                       // compressed, no grpc-encoding
        try
        {
            Proto.ChatRequest.Parser.ParseFrom(noise.AsSpan(5, (int)length).ToArray());
            return null;
        }
        catch (InvalidProtocolBufferException)
        {
            return [Invalid];
        }
    }

    /// <summary>Bytes the protobuf parser refuses, built from a valid request.</summary>
    private static (string What, byte[] Payload) GarbageProtobuf(Random rng, byte[] valid)
    {
        switch (rng.Next(7))
        {
            case 0: return ("a tag with wire type 7", [.. valid, 0x47, 0x01]);
            case 1: return ("a length-delimited field longer than the message", [.. valid, 0x42, 0x64, 0x61, 0x62]);
            case 2: return ("a varint that never ends", [.. valid, 0x48, .. Enumerable.Repeat((byte)0xFF, 11)]);
            case 3: return ("field number 0", [0x00, 0x01, .. valid]);
            case 4: return ("an end-group tag with no start", [.. valid, 0x0C]);
            case 5:
            {
                // The credential's Struct cut short inside its own length.
                var cut = valid.ToArray();
                cut[1] = (byte)Math.Min(127, cut[1] + 5);
                return ("a nested message whose length runs past its parent", cut);
            }
            default:
            {
                for (;;)
                {
                    var bytes = new byte[8 + rng.Next(120)];
                    rng.NextBytes(bytes);
                    try { Proto.ChatRequest.Parser.ParseFrom(bytes); }
                    catch (InvalidProtocolBufferException) { return ($"{bytes.Length} random bytes {Convert.ToHexString(bytes.AsSpan(0, 8))}…", bytes); }
                }
            }
        }
    }

    /// <summary>A valid request whose one <c>string</c> field holds bytes that are not UTF-8 (same length, so every length prefix stays right).</summary>
    private static (string What, byte[] Payload) InvalidUtf8InString(Random rng, TestGateway gateway)
    {
        const string Marker = "QQQQQQQQ";
        var request = gateway.NewChat("openai", "utf8", "utf8");
        var fields = new (string What, Action Set)[]
        {
            ("clientRequestId", () => request.ClientRequestId = Marker),
            ("conversations[0].role", () => request.Conversations[0].Role = Marker),
            ("providerName", () => request.ProviderName = Marker),
            ("a modelParameters key", () => request.ModelParameters[Marker] = Any.Pack(Value.ForNumber(1))),
            ("a credential.value key", () => request.Credential.Value.Fields[Marker] = Value.ForString("x")),
            ("content.contentType", () => request.Conversations[0].Contents[0].ContentType = Marker),
            ("an additionalData value", () => request.AdditionalData["k"] = Marker),
            ("a toolCall's function.arguments", () => request.Conversations.Add(new IntegrationApi.Contracts.Common.Message
            {
                Role = "assistant",
                ToolCalls = { new IntegrationApi.Contracts.Common.ToolCall { Id = "c", Function = new IntegrationApi.Contracts.Common.FunctionCall { Name = "f", Arguments = Marker } } },
            })),
        };
        var (what, set) = fields[rng.Next(fields.Length)];
        set();
        var bytes = request.ToByteArray();
        var at = bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(Marker));
        byte[][] bad = [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0x80]];
        var junk = new List<byte>();
        while (junk.Count < Marker.Length) junk.AddRange(bad[rng.Next(bad.Length)]);
        junk.CopyTo(0, bytes, at, Marker.Length);
        if (bytes[at + Marker.Length - 1] >= 0xC0) bytes[at + Marker.Length - 1] = 0xFF; // keep it invalid at the cut
        return ($"{what} ({Convert.ToHexString(bytes.AsSpan(at, Marker.Length))})", bytes);
    }

    private static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, CompressionLevel.Fastest)) gz.Write(data);
        return buffer.ToArray();
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private static Value Nest(int depth, Random rng)
    {
        var v = Value.ForString("leaf");
        for (var i = 0; i < depth; i++)
            v = rng.Next(2) == 0 ? Value.ForStruct(new Struct { Fields = { ["k"] = v } }) : Value.ForList(v);
        return v;
    }

    /// <summary>A known-good request on a new stream, then half-close: null when it succeeds and the call ends OK.</summary>
    private static async Task<string?> ControlOnNewStreamAsync(TestGateway gateway, string? service)
    {
        var provider = service ?? "openai";
        using var stream = gateway.OpenStream(service);
        var request = gateway.NewChat(provider, "control", "control");
        if (service is null) request.ProviderName = provider;
        try
        {
            await stream.SendAsync(request);
            var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);
            if (!terminal.Success || terminal.Text() != ControlText) return $"a known-good request got {terminal.Describe()}";
            await stream.CompleteAsync();
            var status = await stream.ReadToEndAsync();
            return status.StatusCode == StatusCode.OK ? null : $"the call ended with {status}";
        }
        catch (Exception ex) when (ex is RpcException or TimeoutException or InvalidOperationException)
        {
            return $"a known-good request on a new stream failed: {ex.GetType().Name}: {ex.Message}";
        }
    }

    private static void Report(List<string> failures, string what)
    {
        if (failures.Count == 0) return;
        const int Shown = 40;
        var text = new StringBuilder($"{failures.Count} fuzz failure(s) ({what}):\n");
        foreach (var f in failures.Take(Shown)) text.Append("- ").AppendLine(f.Length > 1500 ? f[..1500] + "…" : f);
        if (failures.Count > Shown) text.AppendLine($"… and {failures.Count - Shown} more");
        Assert.Fail(text.ToString());
    }

    /// <summary>
    /// Runs <paramref name="body"/> against a fresh gateway. Unlike <c>await using</c>, a failure of the body is
    /// not hidden by the gateway's own check on dispose (unexpected error logs): both are reported.
    /// </summary>
    private async Task WithGatewayAsync(Func<TestGateway, Task> body)
    {
        var gateway = await TestGateway.StartAsync();
        ExceptionDispatchInfo? failure = null;
        try { await body(gateway); }
        catch (Exception ex) { failure = ExceptionDispatchInfo.Capture(ex); }
        // The distinct server errors (first line, ids blanked), for whoever fixes them.
        foreach (var error in gateway.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error)
                     .Select(e => System.Text.RegularExpressions.Regex.Replace(e.Category + ": " + e.Message.Split('\n')[0], "[0-9]{6,}", "N"))
                     .GroupBy(line => line).Select(g => $"{g.Count()}× {g.Key}"))
            output.WriteLine("server error log: " + error);
        try { await gateway.DisposeAsync(); }
        catch (Exception ex) when (failure is not null)
        {
            var logs = ex.Message.Length > 3000 ? ex.Message[..3000] + "…" : ex.Message;
            throw new Xunit.Sdk.XunitException(failure.SourceException.Message + "\n\nAnd when the gateway stopped:\n" + logs);
        }
        failure?.Throw();
    }
}

/// <summary>A StreamChat call whose responses a background loop reads, so a test can send while answers arrive.</summary>
internal sealed class FuzzStream : IDisposable
{
    private readonly ChatStream _owner;
    private readonly object _gate = new();
    private readonly List<Proto.ChatResponse> _all = [];
    private readonly Dictionary<string, List<Proto.ChatResponse>> _terminals = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public FuzzStream(ChatStream stream)
    {
        _owner = stream;
        _ = Task.Run(ReadLoopAsync);
    }

    public AsyncDuplexStreamingCall<Proto.ChatRequest, Proto.ChatResponse> Call => _owner.Call;
    public HashSet<string> SentIds { get; } = new(StringComparer.Ordinal);
    public bool Ended { get; private set; }
    public Status? EndStatus { get; private set; }
    public Exception? Error { get; private set; }

    public IReadOnlyList<Proto.ChatResponse> All { get { lock (_gate) return _all.ToArray(); } }

    public IReadOnlyList<Proto.ChatResponse> Terminals(string id)
    {
        lock (_gate) return _terminals.TryGetValue(id, out var list) ? list.ToArray() : [];
    }

    /// <summary>How the call ended, for failure messages.</summary>
    public string Describe() =>
        !Ended ? "(still open)"
        : Error is RpcException rpc ? $"RpcException {rpc.StatusCode} \"{rpc.Status.Detail}\" from MoveNext"
        : Error is not null ? $"{Error.GetType().Name} \"{Error.Message}\" from MoveNext"
        : $"status {EndStatus?.StatusCode} \"{EndStatus?.Detail}\" (MoveNext returned false)";

    /// <summary>Waits until <paramref name="done"/> holds (true) or the call ended (false); throws <see cref="TimeoutException"/> past the default limit.</summary>
    public async Task<bool> WaitUntilAsync(Func<bool> done, TimeSpan? limit = null)
    {
        var deadline = Stopwatch.StartNew();
        var max = limit ?? TaskTimeoutExtensions.Limit;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (done()) return true;
                if (Ended) return false;
                changed = _changed.Task;
            }
            var left = max - deadline.Elapsed;
            if (left <= TimeSpan.Zero) throw new TimeoutException();
            await changed.WaitAsync(left);
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await Call.ResponseStream.MoveNext(CancellationToken.None))
            {
                var response = Call.ResponseStream.Current;
                lock (_gate)
                {
                    _all.Add(response);
                    if (ChatStream.IsTerminal(response))
                    {
                        if (!_terminals.TryGetValue(response.ClientRequestId, out var list)) _terminals[response.ClientRequestId] = list = [];
                        list.Add(response);
                    }
                    Signal();
                }
            }
            EndStatus = Call.GetStatus();
        }
        catch (RpcException ex)
        {
            (Error, EndStatus) = (ex, ex.Status);
        }
        catch (Exception ex)
        {
            Error = ex;
        }
        finally
        {
            lock (_gate)
            {
                Ended = true;
                Signal();
            }
        }
    }

    private void Signal()
    {
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    public void Dispose() => _owner.Dispose();
}
