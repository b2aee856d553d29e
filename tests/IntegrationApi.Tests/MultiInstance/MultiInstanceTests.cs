using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using IntegrationApi.Auth;
using IntegrationApi.Client;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.MultiInstance;

/// <summary>
/// Issue 16's scale-out test: three instances of the built service (child processes on free ports) behind Debian's HAProxy
/// (h2c in, HTTP/2 to the backends, least connections), sharing PostgreSQL (audit records, API keys) and a redis-server
/// of the test's own (limits, revocations), with loopback fake providers. Phases, in order (the destructive ones last):
/// load; the per-project limit over all instances; a key revoked through one instance refused on all; SIGTERM of one
/// instance mid-load; SIGKILL of another mid-load. Each phase prints its figures. Needs
/// <see cref="HaproxyProcess.Variable"/>, <see cref="RedisServer.Variable"/> and <see cref="AuditStores.PostgresVariable"/>
/// (.ci/run sets all three); skipped, loudly, without them.
/// </summary>
[Collection(AuditStores.Collection)]
public sealed class MultiInstanceTests(ITestOutputHelper output)
{
    private const int Limit = 10;
    private const ulong Org = 16;

    private void Report(string line)
    {
        output.WriteLine("[multi-instance] " + line);
        Console.WriteLine("[multi-instance] " + line);
    }

    private static string? Missing()
    {
        if (Environment.GetEnvironmentVariable(AuditStores.PostgresVariable) is not { Length: > 0 }) return $"{AuditStores.PostgresVariable} (PostgreSQL)";
        if (RedisServer.FindBinary() is null) return $"{RedisServer.Variable} (redis-server)";
        if (HaproxyProcess.FindBinary() is null) return $"{HaproxyProcess.Variable} (haproxy)";
        if (!File.Exists(ServiceProcess.ServiceDll())) return $"the built service {ServiceProcess.ServiceDll()}";
        return null;
    }

    [SkippableFact]
    public async Task ThreeInstancesBehindHaproxy_Load_SharedLimit_Revocation_Sigterm_Sigkill()
    {
        var missing = Missing();
        if (missing is not null) Console.Error.WriteLine($"\n*** MULTI-INSTANCE TEST SKIPPED: {missing} is not available (.ci/run installs it) ***\n");
        Skip.If(missing is not null, $"MULTI-INSTANCE TEST SKIPPED: {missing} is not available");
        var total = Stopwatch.StartNew();
        await EnsurePostgresUpAsync();

        await using var fake = new OpenAIFake();
        fake.On("nodelta", new FakeScript { TextChunks = ["late", " answer"], TimeToFirstToken = TimeSpan.FromSeconds(4) });
        fake.On("slowstream", new FakeScript { TextChunks = [.. Enumerable.Range(0, 12).Select(i => $"w{i} ")], ChunkGap = TimeSpan.FromMilliseconds(250) });
        fake.On("hold", new FakeScript { TextChunks = ["held"], TimeToFirstToken = TimeSpan.FromSeconds(2) });
        fake.On("drainload", new FakeScript { TextChunks = [.. Enumerable.Range(0, 8).Select(i => $"d{i} ")], ChunkGap = TimeSpan.FromMilliseconds(60) });
        fake.DefaultScript = new FakeScript { TextChunks = ["a", "b", "c", "d"], TimeToFirstToken = TimeSpan.FromMilliseconds(20), ChunkGap = TimeSpan.FromMilliseconds(20) };
        await fake.StartAsync();
        await using var redis = await RedisServer.StartAsync();
        var schema = $"mi_{Guid.NewGuid():N}";
        var postgres = Environment.GetEnvironmentVariable(AuditStores.PostgresVariable)!;
        var settings = new Dictionary<string, string>
        {
            ["Auth:JwtSecret"] = TestGateway.JwtSecret,
            ["Auth:RevocationCheckInterval"] = "00:10:00",   // only the Redis broadcast can make a revocation quick
            ["Audit:Store"] = "postgres",
            ["Audit:PostgresConnectionString"] = $"{postgres};Search Path={schema}",
            ["Redis:Configuration"] = redis.Configuration,
            ["Redis:LeaseTtl"] = "00:00:03",
            ["Engine:MaxConcurrentRequestsPerPrincipal"] = Limit.ToString(),
            ["Providers:OpenAI:BaseUrl"] = fake.BaseUrl,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        var ports = Enumerable.Range(0, 7).Select(_ => RedisServer.FreePort()).Distinct().ToArray();
        Assert.Equal(7, ports.Length);
        var starting = Enumerable.Range(0, 3).Select(i => ServiceProcess.StartAsync($"i{i + 1}", ports[2 * i], ports[2 * i + 1],
            new Dictionary<string, string>(settings) { ["Engine:MachineId"] = (i + 1).ToString() })).ToArray();
        try { await Task.WhenAll(starting); }
        catch
        {
            // One did not come up: the others must not outlive the test.
            foreach (var started in starting.Where(t => t.IsCompletedSuccessfully)) await started.Result.DisposeAsync();
            throw;
        }
        var instances = starting.Select(t => t.Result).ToArray();
        try
        {
            await using var haproxy = await HaproxyProcess.StartAsync(ports[6], instances.Select(i => i.GrpcPort));
            var address = $"http://127.0.0.1:{haproxy.Port}";
            Report($"3 instances (pids {string.Join(", ", instances.Select(i => i.Pid))}) behind HAProxy on {address}, started in {total.Elapsed.TotalSeconds:F1} s");

            await LoadAsync(address, schema);
            await SharedLimitAsync(address);
            await RevocationAsync(address, instances, settings);
            await SigtermAsync(address, schema, instances[0]);
            await SigkillAsync(address, fake, instances[1], instances[2]);
            Report($"whole test: {total.Elapsed.TotalSeconds:F1} s");
        }
        catch
        {
            foreach (var i in instances) output.WriteLine($"--- {i.Name} output:\n{string.Join("\n", i.Output.TakeLast(60))}");
            throw;
        }
        finally
        {
            foreach (var i in instances) await i.DisposeAsync();
        }
    }

    /// <summary>
    /// The PostgreSQL outage tests of a concurrent run (another checkout on this machine) may have left the shared cluster
    /// stopped: start it again when .ci/run named it (bounded).
    /// </summary>
    private static async Task EnsurePostgresUpAsync()
    {
        var waited = Stopwatch.StartNew();
        var started = false;
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(Environment.GetEnvironmentVariable(AuditStores.PostgresVariable));
                await connection.OpenAsync();
                return;
            }
            catch (NpgsqlException) when (waited.Elapsed < TimeSpan.FromSeconds(30))
            {
                if (!started && Environment.GetEnvironmentVariable("INTEGRATION_API_TEST_PG_CLUSTER") is { Length: > 0 } cluster)
                {
                    started = true;
                    var parts = cluster.Split(' ');
                    // Closing inherited descriptors: the server outlives the test run and must not hold what the runner inherited.
                    const string CloseInheritedThenRun = """for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; exec pg_ctlcluster "$@" """;
                    using var start = Process.Start(new ProcessStartInfo("bash", ["-c", CloseInheritedThenRun, "bash", parts[0], parts[1], "start"])
                    { RedirectStandardOutput = true, RedirectStandardError = true })!;
                    await start.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
                }
                await Task.Delay(200);
            }
        }
    }

    private static IntegrationClient NewClient(string address, ulong project, int streams = 6, int perStream = 4) =>
        new(IntegrationClient.CreateChannel(address), new IntegrationClientOptions
        {
            Headers = () => new Metadata { { CallerAuthenticator.ServiceKeyHeader, TestTokens.Jwt(TestGateway.JwtSecret, 1, Org, project, DateTimeOffset.UtcNow.AddHours(1)) } },
            MaxStreams = streams, MaxInFlightPerStream = perStream,
        });

    private static Proto.ChatRequest Chat(string prompt)
    {
        var request = TestRequests.NewChat("openai", prompt);
        request.ProviderName = "openai"; // LlmService: the provider per request
        return request;
    }

    /// <summary>The instance (its Engine:MachineId) that gave a response: request ids carry it in bits 12–21.</summary>
    private static int MachineOf(Proto.ChatResponse response) => (int)((response.RequestId >> 12) & 0x3FF);

    private static async Task<List<(ulong RequestId, int Code)>> RecordsAsync(string schema, ulong[] projects)
    {
        await using var connection = new NpgsqlConnection(Environment.GetEnvironmentVariable(AuditStores.PostgresVariable));
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand($"SELECT request_id, code FROM {schema}.audit_records WHERE organization_id = @o AND project_id = ANY(@p)", connection);
        query.Parameters.AddWithValue("o", (long)Org);
        query.Parameters.AddWithValue("p", projects.Select(p => (long)p).ToArray());
        var records = new List<(ulong, int)>();
        await using var reader = await query.ExecuteReaderAsync();
        while (await reader.ReadAsync()) records.Add(((ulong)reader.GetInt64(0), reader.GetInt32(1)));
        return records;
    }

    /// <summary>Waits (bounded) until PostgreSQL holds a record of every one of <paramref name="requestIds"/> (of these projects).</summary>
    private static async Task<List<(ulong RequestId, int Code)>> RecordsWhenAllStoredAsync(string schema, ulong[] projects, IReadOnlyCollection<ulong> requestIds, TimeSpan limit)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            List<(ulong RequestId, int Code)> records;
            try { records = await RecordsAsync(schema, projects); }
            catch (NpgsqlException) when (waited.Elapsed < limit)
            {
                // Another checkout's PostgreSQL outage test on this machine may stop the server or end every connection.
                await EnsurePostgresUpAsync();
                continue;
            }
            if (requestIds.All(records.Select(r => r.RequestId).ToHashSet().Contains) || waited.Elapsed > limit) return records;
            await Task.Delay(200); // the instances write their audit batches asynchronously
        }
    }

    /// <summary>Many requests from four projects through HAProxy: all answered, spread over the instances, all recorded.</summary>
    private async Task LoadAsync(string address, string schema)
    {
        ulong[] projects = [101, 102, 103, 104];
        const int perLoop = 12, loops = 8;
        var terminals = new ConcurrentBag<Proto.ChatResponse>();
        var started = Stopwatch.StartNew();
        await Task.WhenAll(projects.Select(async project =>
        {
            await using var client = NewClient(address, project);
            await Task.WhenAll(Enumerable.Range(0, loops).Select(async loop =>
            {
                for (var i = 0; i < perLoop; i++) terminals.Add(await client.ChatAsync(Chat($"load {project} {loop} {i}")).WaitAsync(TimeSpan.FromSeconds(30)));
            }));
        }));
        var sent = projects.Length * loops * perLoop;
        var byInstance = terminals.GroupBy(MachineOf).OrderBy(g => g.Key).Select(g => $"i{g.Key}: {g.Count()}");
        var records = await RecordsWhenAllStoredAsync(schema, projects, terminals.Select(t => t.RequestId).ToArray(), TimeSpan.FromSeconds(15));
        Report($"load: {sent} requests sent, {terminals.Count} terminals ({terminals.Count(t => t.Success)} successful) in {started.Elapsed.TotalSeconds:F1} s; by instance {string.Join(", ", byInstance)}; {records.Count} audit records stored");
        Assert.Equal(sent, terminals.Count);
        Assert.All(terminals, t => Assert.True(t.Success, t.Describe()));
        Assert.Equal(3, terminals.Select(MachineOf).Distinct().Count());
        Assert.Equal(sent, records.Count);
        Assert.Equal(terminals.Select(t => t.RequestId).Order(), records.Select(r => r.RequestId).Order());
    }

    /// <summary>Thirty requests of one project at once over streams on every instance: exactly the limit run, the rest 429.</summary>
    private async Task SharedLimitAsync(string address)
    {
        await using var client = NewClient(address, 999, streams: 6, perStream: 5);
        var terminals = await Task.WhenAll(Enumerable.Range(0, 3 * Limit).Select(i => client.ChatAsync(Chat($"hold {i}")).WaitAsync(TimeSpan.FromSeconds(30))));
        var admitted = terminals.Where(t => t.Success).ToArray();
        var refused = terminals.Where(t => t.Code == 429).ToArray();
        Report($"limit: {terminals.Length} concurrent requests of one project, limit {Limit}: {admitted.Length} admitted " +
               $"(by instance {string.Join(", ", admitted.GroupBy(MachineOf).OrderBy(g => g.Key).Select(g => $"i{g.Key}: {g.Count()}"))}), {refused.Length} refused with 429 " +
               $"(by instance {string.Join(", ", refused.GroupBy(MachineOf).OrderBy(g => g.Key).Select(g => $"i{g.Key}: {g.Count()}"))}); limit held: {admitted.Length == Limit}");
        Assert.True(terminals.Select(MachineOf).Distinct().Count() >= 2, "the requests did not reach several instances");
        Assert.Equal(Limit, admitted.Length);  // per instance it would have been up to 3 × the limit
        Assert.Equal(2 * Limit, refused.Length);
        Assert.All(refused, t => Assert.Contains("running for this project", t.Error.ErrorMessage));
    }

    /// <summary>A key made and revoked with the service's own command (instance configuration): every instance's open stream refuses it at once.</summary>
    private async Task RevocationAsync(string address, ServiceProcess[] instances, Dictionary<string, string> settings)
    {
        var (created, text) = await ServiceProcess.RunCommandAsync(settings, "keys", "create", "--org", Org.ToString(), "--project", "555", "--name", "multi-instance");
        Assert.True(created == 0, text);
        var secret = text.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("rpd-prj-", StringComparison.Ordinal));
        var id = System.Text.RegularExpressions.Regex.Match(text, @"created key (\d+)").Groups[1].Value;
        var headers = new Metadata { { CallerAuthenticator.ApiKeyHeader, secret } };

        // One stream straight to each instance, each answering once with the key.
        var channels = instances.Select(i => Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{i.GrpcPort}")).ToArray();
        var streams = channels.Select(c => new Proto.LlmService.LlmServiceClient(c).StreamChat(headers)).ToArray();
        try
        {
            foreach (var s in streams)
            {
                await s.RequestStream.WriteAsync(Chat("before revocation"));
                Assert.True((await NextTerminalAsync(s)).Success);
            }
            var revoked = Stopwatch.StartNew();
            var (code, revokeText) = await ServiceProcess.RunCommandAsync(settings, "keys", "revoke", id); // "through one instance": its configuration
            Assert.True(code == 0, revokeText);
            var commandTook = revoked.Elapsed;
            var refusedAfter = new List<TimeSpan>();
            foreach (var s in streams)
            {
                while (true)
                {
                    await s.RequestStream.WriteAsync(Chat("after revocation"));
                    var terminal = await NextTerminalAsync(s);
                    if (terminal.Code == 401) { refusedAfter.Add(revoked.Elapsed); break; }
                    Assert.True(revoked.Elapsed < commandTook + TimeSpan.FromSeconds(5), "an instance still accepts the revoked key on its open stream");
                    await Task.Delay(50);
                }
            }
            using var throughProxy = new Proto.LlmService.LlmServiceClient(Grpc.Net.Client.GrpcChannel.ForAddress(address)).StreamChat(headers);
            await throughProxy.RequestStream.WriteAsync(Chat("new stream"));
            var refusedNew = await Assert.ThrowsAsync<RpcException>(() => throughProxy.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.Unauthenticated, refusedNew.StatusCode);
            Report($"revocation: key revoked with `keys revoke` (command took {commandTook.TotalMilliseconds:F0} ms, mostly process start); open streams on all 3 instances refused it " +
                   $"{(refusedAfter.Max() - commandTook).TotalMilliseconds:F0} ms after the command ended at the latest (Auth:RevocationCheckInterval is 10 min); a new stream through HAProxy: Unauthenticated");
        }
        finally
        {
            foreach (var s in streams) s.Dispose();
            foreach (var c in channels) c.Dispose();
        }
    }

    private static async Task<Proto.ChatResponse> NextTerminalAsync(AsyncDuplexStreamingCall<Proto.ChatRequest, Proto.ChatResponse> call)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (await call.ResponseStream.MoveNext(timeout.Token))
            if (call.ResponseStream.Current.FinishReason.Length > 0) return call.ResponseStream.Current;
        throw new InvalidOperationException("the stream ended without a terminal");
    }

    /// <summary>One instance gets SIGTERM mid-load: it drains; every request gets exactly one terminal and every one is recorded.</summary>
    private async Task SigtermAsync(string address, string schema, ServiceProcess victim)
    {
        ulong[] projects = [201, 202, 203, 204];
        const int perLoop = 10, loops = 6;
        var sent = projects.Length * loops * perLoop;
        var terminals = new ConcurrentBag<Proto.ChatResponse>();
        var failures = new ConcurrentBag<Exception>();
        var clients = projects.Select(p => NewClient(address, p)).ToArray();
        var load = Task.WhenAll(clients.Select((client, c) => Task.WhenAll(Enumerable.Range(0, loops).Select(async loop =>
        {
            for (var i = 0; i < perLoop; i++)
            {
                try { terminals.Add(await client.ChatAsync(Chat($"drainload {c} {loop} {i}")).WaitAsync(TimeSpan.FromSeconds(60))); }
                catch (Exception ex) when (ex is IntegrationStreamException or RpcException) { failures.Add(ex); }
            }
        }))));
        var waited = Stopwatch.StartNew();
        while (terminals.Count < sent / 4 && waited.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(20);
        victim.Terminate();
        var stoppedAt = terminals.Count;
        var exit = await victim.WaitForExitAsync(TimeSpan.FromSeconds(40));
        await load.WaitAsync(TimeSpan.FromSeconds(60));
        var resent = clients.Sum(c => c.Resent);
        foreach (var client in clients) await client.DisposeAsync();

        var ids = terminals.Select(t => t.RequestId).ToHashSet();
        var records = await RecordsWhenAllStoredAsync(schema, projects, ids, TimeSpan.FromSeconds(15));
        var recorded = records.Select(r => r.RequestId).ToHashSet();
        var drainRefusals = records.Count(r => r.Code == 503);
        Report($"SIGTERM: {sent} requests sent, instance {victim.Name} terminated after {stoppedAt} terminals (exit code {exit}); {terminals.Count} terminals " +
               $"({terminals.Count(t => t.Success)} successful), {failures.Count} failures, {resent} re-sent by the client after a drain; " +
               $"{records.Count} audit records stored = {records.Count - drainRefusals} answers + {drainRefusals} drain refusals; every terminal recorded: {ids.IsSubsetOf(recorded)}");
        Assert.Empty(failures.Select(f => f.Message));
        Assert.Equal(sent, terminals.Count);                     // exactly one terminal each
        Assert.Equal(sent, ids.Count);
        Assert.All(terminals, t => Assert.True(t.Success, t.Describe()));
        Assert.Equal(0, exit);
        Assert.True(ids.IsSubsetOf(recorded), "terminals without an audit record");
        Assert.Equal(sent, records.Count(r => r.Code == 200));
        Assert.Equal(records.Count, records.Select(r => r.RequestId).Distinct().Count());
        Assert.Contains(terminals, t => MachineOf(t) == int.Parse(victim.Name[1..])); // the victim was serving when it got the signal
    }

    /// <summary>
    /// One instance is killed while some requests stream deltas and others still wait for their first token: the waiting ones are
    /// re-sent by the client and answered elsewhere; the streaming ones fail with IntegrationStreamException (PartialAnswer).
    /// </summary>
    private async Task SigkillAsync(string address, OpenAIFake fake, ServiceProcess first, ServiceProcess second)
    {
        // Four projects of five requests: a re-sent request holds a second lease while the killed instance's lease waits
        // out its TTL (Redis:LeaseTtl), and 2 × 5 stays within the per-project limit.
        var clients = new ulong[] { 301, 302, 303, 304 }.Select(p => NewClient(address, p, streams: 2, perStream: 3)).ToArray();
        const int each = 10;
        var firstDelta = new ConcurrentDictionary<string, int>();  // prompt → instance of its first delta
        var outcomes = new ConcurrentDictionary<string, string>(); // prompt → "ok" | "partial" | other failure
        var partialStatus = new ConcurrentBag<StatusCode>();
        async Task RunAsync(string prompt)
        {
            try
            {
                Proto.ChatResponse? last = null;
                var client = clients[int.Parse(prompt.Split(' ')[1]) % clients.Length];
                await foreach (var r in client.StreamAsync(Chat(prompt)))
                {
                    if (r.FinishReason.Length == 0) firstDelta.TryAdd(prompt, MachineOf(r));
                    last = r;
                }
                if (!outcomes.TryAdd(prompt, last is { Success: true } ? "ok" : $"code {last?.Code}")) outcomes[prompt] = "TWICE";
            }
            catch (IntegrationStreamException ex)
            {
                if (ex.PartialAnswer) partialStatus.Add(ex.Status.StatusCode);
                if (!outcomes.TryAdd(prompt, ex.PartialAnswer ? "partial" : "not-resent: " + ex.Message)) outcomes[prompt] = "TWICE";
            }
            catch (RpcException ex) { outcomes.TryAdd(prompt, "rpc " + ex.StatusCode); }
        }
        var prompts = Enumerable.Range(0, each).SelectMany(i => new[] { $"slowstream {i}", $"nodelta {i + 1}" }).ToArray();
        var all = Task.WhenAll(prompts.Select(RunAsync)).WaitAsync(TimeSpan.FromSeconds(60));
        var waited = Stopwatch.StartNew();
        while ((firstDelta.Count < each || fakeSeen(prompts) < prompts.Length) && waited.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
        // Kill the instance streaming the most: some of its requests have deltas, some are waiting for their first token.
        var busiest = firstDelta.Values.GroupBy(m => m).OrderByDescending(g => g.Count()).First().Key;
        var victim = int.Parse(first.Name[1..]) == busiest ? first : second;
        victim.Kill();
        await all;
        var resent = clients.Sum(c => c.Resent);
        foreach (var c in clients) await c.DisposeAsync();
        var ok = outcomes.Count(o => o.Value == "ok");
        var partial = outcomes.Count(o => o.Value == "partial");
        Report($"SIGKILL: {prompts.Length} requests sent ({each} streaming deltas, {each} waiting for a first token), instance {victim.Name} killed; " +
               $"{outcomes.Count} outcomes: {ok} answered, {partial} failed with IntegrationStreamException (PartialAnswer, stream status {string.Join("/", partialStatus.Distinct())}), {resent} re-sent by the client; " +
               $"others: {string.Join("; ", outcomes.Where(o => o.Value is not ("ok" or "partial")).Select(o => $"{o.Key}: {o.Value}"))}");
        Assert.Equal(prompts.Length, outcomes.Count);                                   // exactly one outcome each
        Assert.DoesNotContain(outcomes, o => o.Value is not ("ok" or "partial"));
        Assert.All(outcomes.Where(o => o.Key.StartsWith("nodelta", StringComparison.Ordinal)), o => Assert.Equal("ok", o.Value)); // re-sent, answered
        Assert.All(outcomes.Where(o => o.Value == "partial"), o => Assert.StartsWith("slowstream", o.Key));
        Assert.True(partial >= 1, "the kill hit no streaming request");
        Assert.True(resent >= 1, "no request without a delta was re-sent");

        int fakeSeen(string[] ps)
        {
            var bodies = fake.Requests.Select(r => r.Body).ToArray();
            return ps.Count(p => bodies.Any(b => b.Contains($"\"{p}\"", StringComparison.Ordinal)));
        }
    }
}
