using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using IntegrationApi.Cli;
using IntegrationApi.Contracts;
using IntegrationApi.Contracts.Common;

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

using var channel = GrpcChannel.ForAddress(options.Address);
var client = new LlmService.LlmServiceClient(channel);
if (options.Wait > TimeSpan.Zero && !await WaitForServiceAsync(channel, options.Wait))
{
    Console.Error.WriteLine($"the service at {options.Address} did not answer within {options.Wait.TotalSeconds:0} s");
    return 1;
}

using var call = client.StreamChat(headers);
var started = new Dictionary<string, long>();
var firstDelta = new Dictionary<string, long>();
for (var i = 0; i < options.Prompts.Count; i++)
{
    var id = options.Concurrent ? (i + 1).ToString(CultureInfo.InvariantCulture) : "";
    started[options.Concurrent ? id : i.ToString(CultureInfo.InvariantCulture)] = Stopwatch.GetTimestamp();
    await call.RequestStream.WriteAsync(Request(options, options.Prompts[i], id));
}
await call.RequestStream.CompleteAsync();

var exitCode = 0;
var sequence = 0; // untagged requests answer in order: the n-th terminal closes the n-th prompt
try
{
    await foreach (var response in call.ResponseStream.ReadAllAsync())
    {
        var key = options.Concurrent ? response.ClientRequestId : sequence.ToString(CultureInfo.InvariantCulture);
        var label = options.Concurrent ? $"[{response.ClientRequestId}] " : "";
        if (response.FinishReason.Length == 0)
        {
            firstDelta.TryAdd(key, Stopwatch.GetTimestamp());
            var text = string.Concat(response.Data.Contents.Select(c => c.Content_.ToStringUtf8()));
            if (options.Concurrent) Console.WriteLine(label + text); else Console.Write(text);
            continue;
        }
        if (!options.Concurrent) Console.WriteLine();
        Console.WriteLine(label + Summary(response, started.GetValueOrDefault(key), firstDelta.GetValueOrDefault(key)));
        if (!response.Success) exitCode = 1;
        sequence++;
    }
}
catch (RpcException ex)
{
    Console.Error.WriteLine($"stream failed: {ex.StatusCode} {ex.Status.Detail}");
    return 1;
}
return exitCode;

static ChatRequest Request(CliOptions o, string prompt, string clientRequestId)
{
    var request = new ChatRequest
    {
        ClientRequestId = clientRequestId,
        ProviderName = o.Provider,
        Credential = new Credential { Value = new Struct { Fields = { ["key"] = Value.ForString(o.ProviderKey ?? "") } } },
    };
    if (o.System is not null) request.Conversations.Add(Text("system", o.System));
    request.Conversations.Add(Text("user", prompt));
    request.ModelParameters["model.name"] = Any.Pack(Value.ForString(o.Model ?? DefaultModel(o.Provider)));
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
    string M(string name) => r.Metrics.FirstOrDefault(m => m.Name == name)?.Value ?? "-";
    var ttft = firstDelta > 0 ? $"{Stopwatch.GetElapsedTime(started, firstDelta).TotalMilliseconds:0.0} ms" : "-";
    var total = $"{Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.0} ms";
    return r.Success
        ? $"done: finish={r.FinishReason} tokens in={M("INPUT_TOKEN")} out={M("OUTPUT_TOKEN")} total={M("TOTAL_TOKEN")} ttft={ttft} time={total}" +
          (r.Data.ToolCalls.Count > 0 ? $" tool_calls={string.Join(",", r.Data.ToolCalls.Select(c => c.Function.Name + c.Function.Arguments))}" : "")
        : $"failed: code={r.Code} finish={r.FinishReason} {r.Error?.ErrorMessage}";
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
