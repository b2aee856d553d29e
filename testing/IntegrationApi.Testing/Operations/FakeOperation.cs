using System.Buffers.Binary;
using System.Text.Json;

namespace IntegrationApi.Testing;

/// <summary>
/// One non-chat endpoint of a provider fake (embeddings, rerank, moderation): what it refuses, and its answer in the
/// provider's format. The fake that serves it picks it by path (<c>FakeProviderServer.OperationFor</c>).
/// </summary>
public abstract class FakeOperation
{
    /// <summary>True when the fake's own credential check applies (false when the endpoint takes another header).</summary>
    public virtual bool UsesFakeCredential => true;

    /// <summary>An endpoint-specific credential refusal (e.g. Content Safety's own header), or null.</summary>
    public virtual (int Status, string Body)? CheckCredential(RecordedRequest request, string validKey) => null;

    /// <summary>What the real API refuses in the body (too many inputs, empty input, a wrong dimension), as (status, body); null accepts it.</summary>
    public abstract (int Status, string Body)? Reject(RecordedRequest request);

    /// <summary>The successful answer.</summary>
    public abstract string Answer(RecordedRequest request, FakeScript script);

    /// <summary>An error body of the endpoint's own shape for a scripted status, or null for the fake's usual one.</summary>
    public virtual string? ErrorBody(int status, FakeScript script) => null;

    /// <summary>
    /// The fake's embedding of <paramref name="text"/>: <paramref name="dimensions"/> numbers derived from the text, so a
    /// test can tell which vector belongs to which input (component 0 is the text's length, component 1 its first char).
    /// </summary>
    public static float[] VectorFor(string text, int dimensions)
    {
        var v = new float[dimensions];
        for (var i = 0; i < dimensions; i++)
            v[i] = i switch { 0 => text.Length, 1 => text.Length > 0 ? text[0] : 0, _ => (float)((text.GetHashCode(StringComparison.Ordinal) % 1000 + i) / 1000.0) };
        return v;
    }

    /// <summary>Little-endian float32 as base64 (OpenAI's <c>encoding_format: base64</c>).</summary>
    public static string Base64(float[] vector)
    {
        var bytes = new byte[vector.Length * 4];
        for (var i = 0; i < vector.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), vector[i]);
        return Convert.ToBase64String(bytes);
    }

    /// <summary>The strings of a JSON array property, or null when it is missing or not all strings.</summary>
    protected static IReadOnlyList<string>? Strings(JsonElement json, string property)
    {
        if (!json.TryGetProperty(property, out var array) || array.ValueKind != JsonValueKind.Array) return null;
        var list = new List<string>();
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) return null;
            list.Add(item.GetString()!);
        }
        return list;
    }

    /// <summary>An integer property, or null.</summary>
    protected static int? Int(JsonElement json, string property) =>
        json.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;

    /// <summary>A string property, or null.</summary>
    protected static string? Text(JsonElement json, string property) =>
        json.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
