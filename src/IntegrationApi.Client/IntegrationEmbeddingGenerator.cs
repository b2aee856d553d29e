using System.Buffers.Binary;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.AI;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Client;

/// <summary>
/// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over the Integration API's <c>Embedding</c>: .NET apps (and
/// Microsoft.Extensions.AI pipelines: caching, telemetry) embed through any provider the service has, with the provider
/// secret passed per request. Vectors travel as base64 float32 (exact and compact); the service batches large inputs.
/// </summary>
public sealed class IntegrationEmbeddingGenerator(IntegrationClient client, string provider, IReadOnlyDictionary<string, string> credential,
    string? defaultModel = null, int? defaultDimensions = null) : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly EmbeddingGeneratorMetadata _metadata = new("integration-api", null, defaultModel, defaultDimensions);

    /// <inheritdoc />
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var request = new Proto.EmbeddingRequest { ProviderName = provider, Credential = ChatTargetSpec.ToCredential(credential) };
        var i = 0;
        foreach (var value in values) request.Content[i++] = value;
        if (i == 0) return [];
        request.ModelParameters["model.encoding_format"] = Any.Pack(Value.ForString("base64"));
        var model = options?.ModelId ?? defaultModel;
        if (model is not null) request.ModelParameters["model.name"] = Any.Pack(Value.ForString(model));
        if ((options?.Dimensions ?? defaultDimensions) is { } dims) request.ModelParameters["model.dimensions"] = Any.Pack(Value.ForNumber(dims));
        if (options?.AdditionalProperties is { } extra)
            foreach (var (key, v) in extra)
                if (key.StartsWith("model.", StringComparison.Ordinal) && v is string or int or long or double or bool)
                    request.ModelParameters[key] = Any.Pack(v is string s ? Value.ForString(s) : v is bool b ? Value.ForBool(b) : Value.ForNumber(Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture)));

        var response = await client.EmbeddingAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.Success)
            throw new IntegrationRequestException(response.Code, response.Error?.ErrorMessage ?? "the request failed", response.Error?.HumanMessage ?? "");
        var vectors = new Embedding<float>[i];
        foreach (var data in response.Data)
            if (data.Index >= 0 && data.Index < i) vectors[data.Index] = new Embedding<float>(ToVector(data)) { ModelId = model };
        if (vectors.Any(v => v is null)) throw new InvalidOperationException("the service answered fewer embeddings than inputs");
        var result = new GeneratedEmbeddings<Embedding<float>>(vectors);
        if (Metric(response, Proto.MetricNames.InputTokens) is { } input) result.Usage = new UsageDetails { InputTokenCount = input, TotalTokenCount = Metric(response, Proto.MetricNames.TotalTokens) ?? input };
        return result;
    }

    private static float[] ToVector(Proto.Embedding data)
    {
        if (data.Base64.Length == 0) return [.. data.Embedding_.Select(x => (float)x)];
        var bytes = Convert.FromBase64String(data.Base64);
        var vector = new float[bytes.Length / 4];
        for (var j = 0; j < vector.Length; j++) vector[j] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(j * 4));
        return vector;
    }

    private static long? Metric(Proto.EmbeddingResponse response, string name) =>
        response.Metrics.FirstOrDefault(m => m.Name == name) is { } m && long.TryParse(m.Value, out var v) ? v : null;

    /// <inheritdoc />
    public object? GetService(System.Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(client) ? client
        : null;

    /// <inheritdoc />
    public void Dispose() { }
}
