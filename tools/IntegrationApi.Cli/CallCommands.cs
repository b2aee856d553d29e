using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using IntegrationApi.Client;
using IntegrationApi.Contracts;
using IntegrationApi.Contracts.Common;

namespace IntegrationApi.Cli;

/// <summary>
/// <c>embed</c> and <c>rerank</c>: one unary call on <c>LlmService</c> each, with the same options as chat
/// (<c>--address --provider --model --key --api-key --jwt --wait</c>); the positional arguments are the texts
/// (<c>embed</c>), or the query then the documents (<c>rerank</c>); none means one per stdin line.
/// </summary>
internal static class CallCommands
{
    public const string Usage = """
        integration-cli embed [options] [text ...]          one vector per text: index, dimensions, the first numbers
        integration-cli rerank [options] QUERY [document ...] documents best first: index, relevance score, text
          (options as for chat: --address --provider --model --key --api-key --jwt --wait)
        """;

    public static async Task<int> RunAsync(string command, string[] args)
    {
        CliOptions options;
        try { options = CliOptions.Parse(args); }
        catch (ArgumentException ex)
        {
            if (ex.Message.Length > 0) Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
        var texts = options.Prompts;
        if (texts.Count == 0)
            while (Console.ReadLine() is { } line)
                if (line.Trim().Length > 0) texts.Add(line.Trim());
        if (texts.Count < (command == "rerank" ? 2 : 1)) { Console.Error.WriteLine(command == "rerank" ? "need a query and documents" : "no texts"); return 2; }

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
        var credential = new Credential { Value = new Struct { Fields = { ["key"] = Value.ForString(options.RequestKey) } } };
        try
        {
            return command == "embed" ? await EmbedAsync(client, options, credential, texts) : await RerankAsync(client, options, credential, texts);
        }
        catch (RpcException ex)
        {
            Console.Error.WriteLine($"call failed: {ex.Status.StatusCode} {ex.Status.Detail}");
            return 1;
        }
    }

    private static async Task<int> EmbedAsync(IntegrationClient client, CliOptions o, Credential credential, List<string> texts)
    {
        var request = new EmbeddingRequest { ProviderName = o.Provider, Credential = credential };
        for (var i = 0; i < texts.Count; i++) request.Content[i] = texts[i];
        if (o.Model is not null) request.ModelParameters["model.name"] = Any.Pack(Value.ForString(o.Model));
        var response = await client.EmbeddingAsync(request);
        if (!response.Success) { Console.WriteLine($"failed: code={response.Code} {response.Error?.ErrorMessage}"); return 1; }
        foreach (var e in response.Data)
            Console.WriteLine($"[{e.Index}] dims={e.Embedding_.Count} [{string.Join(", ", e.Embedding_.Take(4).Select(x => x.ToString("0.####", CultureInfo.InvariantCulture)))}, …]");
        Console.WriteLine($"done: tokens in={Metric(response.Metrics, MetricNames.InputTokens)} time={Milliseconds(response.Metrics)} ms");
        return 0;
    }

    private static async Task<int> RerankAsync(IntegrationClient client, CliOptions o, Credential credential, List<string> texts)
    {
        var request = new RerankingRequest { ProviderName = o.Provider, Credential = credential, Query = texts[0] };
        for (var i = 1; i < texts.Count; i++)
            request.Content[i - 1] = new Content { ContentType = "text", Content_ = ByteString.CopyFromUtf8(texts[i]) };
        if (o.Model is not null) request.ModelParameters["model.name"] = Any.Pack(Value.ForString(o.Model));
        var response = await client.RerankingAsync(request);
        if (!response.Success) { Console.WriteLine($"failed: code={response.Code} {response.Error?.ErrorMessage}"); return 1; }
        foreach (var r in response.Data)
            Console.WriteLine($"[{r.Index}] {r.RelevanceScore.ToString("0.0000", CultureInfo.InvariantCulture)} {r.Content.Content_.ToStringUtf8()}");
        Console.WriteLine($"done: time={Milliseconds(response.Metrics)} ms");
        return 0;
    }

    private static async Task<bool> WaitForServiceAsync(Grpc.Net.Client.GrpcChannel channel, TimeSpan limit)
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

    private static string Metric(IEnumerable<Metric> metrics, string name) => metrics.FirstOrDefault(m => m.Name == name)?.Value ?? "-";

    private static string Milliseconds(IEnumerable<Metric> metrics) =>
        long.TryParse(Metric(metrics, MetricNames.TimeTaken), out var ns) ? (ns / 1e6).ToString("0.0", CultureInfo.InvariantCulture) : "-";
}
