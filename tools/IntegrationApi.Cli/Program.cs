using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using IntegrationApi.Cli;
using IntegrationApi.Client;
using IntegrationApi.Contracts;
using IntegrationApi.Contracts.Common;

if (args is ["embed" or "rerank", ..]) return await CallCommands.RunAsync(args[0], args[1..]); // unary commands: CallCommands.cs

CliOptions options;
try { options = CliOptions.Parse(args); }
catch (ArgumentException ex)
{
    if (ex.Message.Length > 0) Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(CliOptions.Usage);
    return 2;
}
if (options.Prompts.Count == 0)
    while (Console.ReadLine() is { } line)
        if (line.Trim().Length > 0) options.Prompts.Add(line.Trim());
if (options.Prompts.Count == 0) { Console.Error.WriteLine("no prompts"); return 2; }

var headers = new Grpc.Core.Metadata();
if (options.Jwt is not null) headers.Add("x-internal-service-key", options.Jwt);
if (options.ApiKey is not null) headers.Add("x-api-key", options.ApiKey);

using var channel = IntegrationClient.CreateChannel(options.Address);
if (options.Wait > TimeSpan.Zero && !await WaitForServiceAsync(channel, options.Wait))
{
    Console.Error.WriteLine($"the service at {options.Address} did not answer within {options.Wait.TotalSeconds:0} s");
    return 1;
}
await using var client = new IntegrationClient(channel, new IntegrationClientOptions { Headers = () => headers });

// All prompts share one persistent stream. Concurrent: every request at once, deltas interleaved and
// labelled; otherwise one after the other, deltas printed as they come.
var output = new Lock();
async Task<bool> RunAsync(int index, bool labelled)
{
    var label = labelled ? $"[{index + 1}] " : "";
    var started = Stopwatch.GetTimestamp();
    long firstDelta = 0;
    try
    {
        await foreach (var response in client.StreamAsync(Request(options, options.Prompts[index])))
        {
            var text = string.Concat(response.Data?.Contents.Select(c => c.Content_.ToStringUtf8()) ?? []);
            lock (output)
            {
                if (response.FinishReason.Length == 0)
                {
                    if (firstDelta == 0) firstDelta = Stopwatch.GetTimestamp();
                    if (labelled) Console.WriteLine(label + text); else Console.Write(text);
                    continue;
                }
                if (!labelled) Console.WriteLine();
                Console.WriteLine(label + Summary(response, started, firstDelta));
                return response.Success;
            }
        }
    }
    catch (Exception ex) when (ex is RpcException or IntegrationStreamException)
    {
        lock (output) Console.Error.WriteLine($"{label}stream failed: {ex.Message}");
    }
    return false;
}

bool[] results;
if (options.Concurrent)
    results = await Task.WhenAll(Enumerable.Range(0, options.Prompts.Count).Select(i => RunAsync(i, labelled: true)));
else
{
    results = new bool[options.Prompts.Count];
    for (var i = 0; i < results.Length; i++) results[i] = await RunAsync(i, labelled: false);
}
return results.All(ok => ok) ? 0 : 1;

static ChatRequest Request(CliOptions o, string prompt)
{
    var request = new ChatRequest
    {
        ProviderName = o.Provider,
        Credential = new Credential { Value = new Struct { Fields = { ["key"] = Value.ForString(o.RequestKey) } } },
    };
    if (o.System is not null) request.Conversations.Add(Text("system", o.System));
    request.Conversations.Add(Text("user", prompt));
    request.ModelParameters["model.name"] = Any.Pack(Value.ForString(o.Model ?? DefaultModel(o.Provider)));
    foreach (var target in o.Fallbacks)
    {
        // "P:" on another provider takes P's default model rather than inheriting a model P does not have.
        var other = target.Provider is { } p && !p.Equals(o.Provider, StringComparison.OrdinalIgnoreCase);
        var model = target.Model ?? (other ? DefaultModel(target.Provider!) : null);
        var key = o.FallbackKey(target);
        request.WithFallback(target with { Model = model, Credential = key is null ? null : new Dictionary<string, string> { ["key"] = key } });
    }
    if (o.HedgeMs > 0) request.HedgeAfterMs = o.HedgeMs;
    return request;
}

static Message Text(string role, string text) => new()
{
    Role = role,
    Contents = { new Content { ContentType = "text", ContentFormat = "raw", Content_ = ByteString.CopyFromUtf8(text) } },
};

static string DefaultModel(string provider) => provider.ToLowerInvariant() switch
{
    "anthropic" => "claude-sonnet-4-5",
    "gemini" or "vertexai" => "gemini-2.5-flash",
    "mistral" => "mistral-small-latest",
    "cohere" => "command-a-03-2025",
    "replicate" => "meta/meta-llama-3-8b-instruct",
    _ => "gpt-4o-mini",
};

static string Summary(ChatResponse r, long started, long firstDelta)
{
    string M(string name) => r.GetMetric(name) ?? "-";
    var ttft = firstDelta > 0 ? $"{Stopwatch.GetElapsedTime(started, firstDelta).TotalMilliseconds:0.0} ms" : "-";
    var total = $"{Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.0} ms";
    // Which target served it (or, on a failure, the last that ran) and how many ran.
    var served = r.GetServedBy() is { } s ? $" {(r.Success ? "served" : "last")}={s.Provider}/{s.Model} attempts={s.Attempts}" : "";
    return r.Success
        ? $"done: finish={r.FinishReason}{served} tokens in={M(IntegrationApi.Contracts.MetricNames.InputTokens)} out={M(IntegrationApi.Contracts.MetricNames.OutputTokens)} total={M(IntegrationApi.Contracts.MetricNames.TotalTokens)} ttft={ttft} time={total}" +
          (r.Data.ToolCalls.Count > 0 ? $" tool_calls={string.Join(",", r.Data.ToolCalls.Select(c => c.Function.Name + c.Function.Arguments))}" : "")
        : $"failed: code={r.Code} finish={r.FinishReason}{served} {r.Error?.ErrorMessage}";
}

static async Task<bool> WaitForServiceAsync(GrpcChannel channel, TimeSpan limit)
{
    var deadline = DateTime.UtcNow + limit;
    while (DateTime.UtcNow < deadline)
    {
        try
        {
            using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await channel.ConnectAsync(attempt.Token);
            return true;
        }
        catch (Exception)
        {
            await Task.Delay(200);
        }
    }
    return false;
}
