using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Client;
using IntegrationApi.Contracts;
using IntegrationApi.Contracts.Common;

namespace IntegrationApi.Cli;

/// <summary>
/// The unary commands: <c>embed</c> and <c>rerank</c> on <c>LlmService</c>, <c>verify</c> (the provider service's
/// <c>VerifyCredential</c>), <c>audit list</c> (<c>AuditLoggingService.GetAllAuditLog</c>).
/// </summary>
internal static class CallCommands
{
    public static async Task<int> EmbedAsync(CliOptions o, IntegrationClient client, List<string> texts, TextWriter output, CancellationToken ct)
    {
        var request = new EmbeddingRequest { ProviderName = o.Provider, Credential = o.Credential() };
        for (var i = 0; i < texts.Count; i++) request.Content[i] = texts[i];
        if (o.Model is not null) request.ModelParameters["model.name"] = Any.Pack(Value.ForString(o.Model));
        var response = await client.EmbeddingAsync(request, ct).ConfigureAwait(false);
        if (!response.Success) { output.WriteLine($"failed: code={response.Code} {response.Error?.ErrorMessage}"); return ExitCodes.RequestFailed; }
        foreach (var e in response.Data)
            output.WriteLine($"[{e.Index}] dims={e.Embedding_.Count} [{string.Join(", ", e.Embedding_.Take(4).Select(x => x.ToString("0.####", CultureInfo.InvariantCulture)))}, …]");
        output.WriteLine($"done: tokens in={Metric(response.Metrics, MetricNames.InputTokens)} time={Milliseconds(response.Metrics)} ms");
        return ExitCodes.Ok;
    }

    public static async Task<int> RerankAsync(CliOptions o, IntegrationClient client, List<string> texts, TextWriter output, CancellationToken ct)
    {
        var request = new RerankingRequest { ProviderName = o.Provider, Credential = o.Credential(), Query = texts[0] };
        for (var i = 1; i < texts.Count; i++)
            request.Content[i - 1] = new Content { ContentType = "text", Content_ = ByteString.CopyFromUtf8(texts[i]) };
        if (o.Model is not null) request.ModelParameters["model.name"] = Any.Pack(Value.ForString(o.Model));
        var response = await client.RerankingAsync(request, ct).ConfigureAwait(false);
        if (!response.Success) { output.WriteLine($"failed: code={response.Code} {response.Error?.ErrorMessage}"); return ExitCodes.RequestFailed; }
        foreach (var r in response.Data)
            output.WriteLine($"[{r.Index}] {r.RelevanceScore.ToString("0.0000", CultureInfo.InvariantCulture)} {r.Content.Content_.ToStringUtf8()}");
        output.WriteLine($"done: time={Milliseconds(response.Metrics)} ms");
        return ExitCodes.Ok;
    }

    public static async Task<int> VerifyAsync(CliOptions o, IntegrationClient client, TextWriter output, CancellationToken ct)
    {
        var response = await client.VerifyCredentialAsync(o.Provider, o.Credential(), ct).ConfigureAwait(false);
        if (response.Success)
        {
            output.WriteLine($"valid: {o.Provider} accepted the credential{(response.HasResponse && response.Response.Length > 0 ? " (" + response.Response + ")" : "")}");
            return ExitCodes.Ok;
        }
        output.WriteLine($"invalid: code={response.Code} {response.ErrorMessage}");
        return ExitCodes.RequestFailed;
    }

    public static async Task<int> AuditListAsync(IntegrationClient client, uint page, uint pageSize, IReadOnlyList<(string Key, string Value)> filters,
        TextWriter output, CancellationToken ct)
    {
        var request = new GetAllAuditLogRequest { Paginate = new Paginate { Page = page, PageSize = pageSize } };
        foreach (var (key, value) in filters) request.Criterias.Add(new Criteria { Key = key, Value = value, Logic = "=" });
        var response = await client.GetAllAuditLogAsync(request, ct).ConfigureAwait(false);
        if (!response.Success) { output.WriteLine($"failed: code={response.Code} {response.Error?.ErrorMessage}"); return ExitCodes.RequestFailed; }
        foreach (var log in response.Data)
        {
            var model = log.ExternalAuditMetadatas.FirstOrDefault(m => m.Key == "model_name")?.Value ?? "-";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{log.Id}\t{log.CreatedDate?.ToDateTime():yyyy-MM-ddTHH:mm:ssZ}\t{log.IntegrationName}\t{model}\t{log.Status}\t{log.ResponseStatus}\t{log.TimeTaken / 1e6:0.0} ms"));
        }
        output.WriteLine($"page {response.Paginated?.CurrentPage ?? page}: {response.Data.Count} of {response.Paginated?.TotalItem ?? 0} records");
        return ExitCodes.Ok;
    }

    private static string Metric(IEnumerable<Metric> metrics, string name) => metrics.FirstOrDefault(m => m.Name == name)?.Value ?? "-";

    private static string Milliseconds(IEnumerable<Metric> metrics) =>
        long.TryParse(Metric(metrics, MetricNames.TimeTaken), out var ns) ? (ns / 1e6).ToString("0.0", CultureInfo.InvariantCulture) : "-";
}
