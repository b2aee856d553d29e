using System.Buffers.Binary;
using Google.Protobuf;
using IntegrationApi.Chat;
using IntegrationApi.Embeddings;
using IntegrationApi.Engine;
using Common = IntegrationApi.Contracts.Common;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary>
/// <c>Embedding</c> of every service that has it: <c>content</c> (index → text) in key order, split into batches at the
/// provider's limit, answered with one <c>Embedding</c> per key carrying that key as its <c>index</c>.
/// </summary>
internal sealed class EmbeddingApi(CallRpcServices services) : CallRpc<Proto.EmbeddingRequest, Proto.EmbeddingResponse, EmbeddingBatch>(services)
{
    /// <summary>Most texts one request may carry (split into provider calls as needed).</summary>
    public const int MaxInputs = 16_384;

    /// <summary>Longest text accepted (every provider's own limit is lower in tokens; this only bounds memory).</summary>
    public const int MaxInputChars = 1 << 20;

    protected override string Operation => "embedding";

    protected override string ProviderNameOf(Proto.EmbeddingRequest request) => request.ProviderName;

    protected override Proto.Credential? CredentialOf(Proto.EmbeddingRequest request) => request.Credential;

    protected override IDictionary<string, string> AdditionalDataOf(Proto.EmbeddingRequest request) => request.AdditionalData;

    protected override PreparedCall<Proto.EmbeddingResponse, EmbeddingBatch> Prepare(Proto.EmbeddingRequest request, string provider)
    {
        var embedder = Services.Registry.Embedder(provider) ?? throw new ChatRequestException(
            $"provider \"{ProtoJson.Printable(provider)}\" has no Embedding ({string.Join(", ", Services.Registry.Embedders)})");
        var credential = ProtoMapping.ToCredential(request.Credential);
        if (request.Content.Count == 0) throw new ChatRequestException("content must hold at least one text (index → text)");
        if (request.Content.Count > MaxInputs) throw new ChatRequestException($"content has {request.Content.Count} texts; at most {MaxInputs}");
        var keys = request.Content.Keys.Order().ToArray();
        var texts = new string[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            var text = request.Content[keys[i]];
            if (string.IsNullOrWhiteSpace(text)) throw new ChatRequestException($"content[{keys[i]}] is empty");
            if (text.Length > MaxInputChars) throw new ChatRequestException($"content[{keys[i]}] is longer than {MaxInputChars} characters");
            texts[i] = text;
        }
        ProtoMapping.CheckAdditionalData(request.AdditionalData);
        var options = EmbeddingOptions.From(ProtoMapping.ToParameters(request.ModelParameters));
        var batch = embedder.MaxBatchSize(options);
        var calls = new List<Func<CancellationToken, Task<EmbeddingBatch>>>((texts.Length + batch - 1) / batch);
        for (var start = 0; start < texts.Length; start += batch)
        {
            var part = new EmbeddingRequest(new ArraySegment<string>(texts, start, Math.Min(batch, texts.Length - start)), options, credential);
            calls.Add(ct => embedder.EmbedAsync(part, ct));
        }
        var plan = new CallPlan<EmbeddingBatch>("embeddings", embedder.Name, options.Model ?? "", credential, calls);
        return new(plan, (response, batches) => Fill(response, keys, batches, options.Encoding));
    }

    private static void Fill(Proto.EmbeddingResponse response, int[] keys, IReadOnlyList<EmbeddingBatch> batches, EmbeddingEncoding encoding)
    {
        var i = 0;
        foreach (var batch in batches)
            foreach (var vector in batch.Vectors)
            {
                var embedding = new Proto.Embedding { Index = keys[i++] };
                if (encoding == EmbeddingEncoding.Base64) embedding.Base64 = ToBase64(vector);
                else foreach (var x in vector) embedding.Embedding_.Add(x);
                response.Data.Add(embedding);
            }
    }

    /// <summary>Little-endian float32, base64: OpenAI's <c>encoding_format: base64</c>, whichever provider answered.</summary>
    public static string ToBase64(float[] vector)
    {
        var bytes = new byte[vector.Length * 4];
        for (var i = 0; i < vector.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), vector[i]);
        return Convert.ToBase64String(bytes);
    }

    protected override Proto.EmbeddingResponse NewResponse(int code, bool success, ulong requestId, Common.Error? error, IEnumerable<Common.Metric> metrics)
    {
        var response = new Proto.EmbeddingResponse { Code = code, Success = success, RequestId = requestId, Error = error };
        response.Metrics.Add(metrics);
        return response;
    }

    protected override (int Code, bool Success, ulong RequestId) EnvelopeOf(Proto.EmbeddingResponse response) => (response.Code, response.Success, response.RequestId);

    /// <summary>The vectors stay out of the audit record (a batch answer runs to megabytes); their indexes stay.</summary>
    protected override IMessage AuditView(Proto.EmbeddingResponse response)
    {
        var view = response.Clone();
        foreach (var e in view.Data) { e.Embedding_.Clear(); e.Base64 = ""; }
        return view;
    }
}
