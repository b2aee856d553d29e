using System.Text;
using IntegrationApi.Chat;
using IntegrationApi.Engine;
using IntegrationApi.Reranking;
using Common = IntegrationApi.Contracts.Common;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary>
/// <c>Reranking</c>: <c>content</c> (index → document) ranked against <c>query</c>, best first; each result carries its
/// document's key as <c>index</c> and the document itself. More documents than one provider call takes are ranked in
/// several calls whose best <c>model.top_n</c> are merged by score (relevance scores are absolute, not per call).
/// </summary>
internal sealed class RerankingApi(CallRpcServices services) : CallRpc<Proto.RerankingRequest, Proto.RerankingResponse, RerankResult>(services)
{
    /// <summary>Most documents one request may carry.</summary>
    public const int MaxDocuments = 10_000;

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    protected override string Operation => "reranking";

    protected override string ProviderNameOf(Proto.RerankingRequest request) => request.ProviderName;

    protected override Proto.Credential? CredentialOf(Proto.RerankingRequest request) => request.Credential;

    protected override IDictionary<string, string> AdditionalDataOf(Proto.RerankingRequest request) => request.AdditionalData;

    protected override PreparedCall<Proto.RerankingResponse, RerankResult> Prepare(Proto.RerankingRequest request, string provider)
    {
        var reranker = Services.Registry.Reranker(provider) ?? throw new ChatRequestException(
            $"provider \"{ProtoJson.Printable(provider)}\" has no Reranking ({string.Join(", ", Services.Registry.Rerankers)})");
        var credential = ProtoMapping.ToCredential(request.Credential);
        if (string.IsNullOrWhiteSpace(request.Query)) throw new ChatRequestException("query is required");
        if (request.Content.Count == 0) throw new ChatRequestException("content must hold at least one document (index → Content)");
        if (request.Content.Count > MaxDocuments) throw new ChatRequestException($"content has {request.Content.Count} documents; at most {MaxDocuments}");
        var keys = request.Content.Keys.Order().ToArray();
        var documents = new string[keys.Length];
        for (var i = 0; i < keys.Length; i++) documents[i] = DocumentText(request.Content[keys[i]], keys[i]);
        ProtoMapping.CheckAdditionalData(request.AdditionalData);
        var options = RerankOptions.From(ProtoMapping.ToParameters(request.ModelParameters));
        var size = reranker.MaxDocuments;
        var calls = new List<Func<CancellationToken, Task<RerankResult>>>();
        for (var start = 0; start < documents.Length; start += size)
        {
            var count = Math.Min(size, documents.Length - start);
            // Each call's best top_n hold the request's best top_n.
            var part = new RerankRequest(request.Query, new ArraySegment<string>(documents, start, count),
                options with { TopN = options.TopN is { } n ? Math.Min(n, count) : null }, credential);
            calls.Add(ct => reranker.RerankAsync(part, ct));
        }
        var plan = new CallPlan<RerankResult>("rerank", reranker.Name, options.Model ?? "", credential, calls);
        return new(plan, (response, results) => Fill(response, request, keys, results, size, options.TopN));
    }

    private static string DocumentText(Common.Content content, int key)
    {
        if (content.ContentType is not ("" or "text")) throw new ChatRequestException($"content[{key}].contentType must be text");
        string text;
        try { text = StrictUtf8.GetString(content.Content_.Span); }
        catch (DecoderFallbackException) { throw new ChatRequestException($"content[{key}].content is not UTF-8 text"); }
        return string.IsNullOrWhiteSpace(text) ? throw new ChatRequestException($"content[{key}] is empty") : text;
    }

    private static void Fill(Proto.RerankingResponse response, Proto.RerankingRequest request, int[] keys, IReadOnlyList<RerankResult> results, int size, int? topN)
    {
        var hits = results.SelectMany((r, call) => r.Hits.Select(h => (Position: call * size + h.Index, h.Score)))
            .OrderByDescending(h => h.Score).ThenBy(h => h.Position);
        foreach (var (position, score) in topN is { } n ? hits.Take(n) : hits)
            response.Data.Add(new Proto.Reranking { Index = keys[position], Content = request.Content[keys[position]], RelevanceScore = score });
    }

    protected override Proto.RerankingResponse NewResponse(int code, bool success, ulong requestId, Common.Error? error, IEnumerable<Common.Metric> metrics)
    {
        var response = new Proto.RerankingResponse { Code = code, Success = success, RequestId = requestId, Error = error };
        response.Metrics.Add(metrics);
        return response;
    }

    protected override (int Code, bool Success, ulong RequestId) EnvelopeOf(Proto.RerankingResponse response) => (response.Code, response.Success, response.RequestId);
}
