using System.Text.Json;

namespace IntegrationApi.Providers.OpenAICompatible;

/// <summary>
/// The common Chat Completions chunk, read without building its object graph: almost every chunk of a streamed
/// answer is one choice whose delta is a piece of text (<c>{"id":…,"choices":[{"index":0,"delta":{"content":"Hel"},
/// "finish_reason":null}]}</c>). Deserializing that into <see cref="OpenAIChunk"/> cost ~1 KB and most of a
/// microsecond per token (System.Text.Json's read stack, the choice list, the records; bench/results/optimisation.md).
/// Anything else — tool calls, a finish reason, usage, an error, Mistral's content array, malformed JSON — is left to
/// the deserializer, so what the translation sees is the same either way.
/// </summary>
internal static class OpenAIChunkReader
{
    /// <summary>A chunk that carries nothing the translation reads (e.g. the first, role-only delta).</summary>
    public static OpenAIChunk Nothing { get; } = new();

    /// <summary>The chunk when <paramref name="json"/> is a plain text chunk (only its text set); null when the deserializer must read it.</summary>
    public static OpenAIChunk? TryRead(ReadOnlySpan<byte> json) =>
        !TryReadText(json, out var text) ? null : text is null ? Nothing : new OpenAIChunk { Text = text };

    /// <summary>
    /// True when <paramref name="json"/> is a plain text chunk: then <paramref name="text"/> is its content (null when
    /// it has none). False when the full deserializer must read it.
    /// </summary>
    public static bool TryReadText(ReadOnlySpan<byte> json, out string? text)
    {
        text = null;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    if (!ReadChoices(ref reader, ref text)) return false;
                }
                else if (reader.ValueTextEquals("usage"u8) || reader.ValueTextEquals("error"u8))
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.Null) return false;
                }
                else if (!reader.Read() || !reader.TrySkip()) return false; // id, object, model, …: not read by the translation
            }
            // The object's end, and nothing after it.
            return reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0 && !reader.Read();
        }
        catch (JsonException)
        {
            return false; // the deserializer reports it, with the path
        }
    }

    /// <summary>The first choice's delta text; other choices are ignored, as the translation ignores them.</summary>
    private static bool ReadChoices(ref Utf8JsonReader reader, ref string? text)
    {
        if (!reader.Read()) return false;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.StartArray || !reader.Read()) return false;
        if (reader.TokenType == JsonTokenType.EndArray) return true;
        if (reader.TokenType != JsonTokenType.StartObject) return false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("delta"u8))
            {
                if (!ReadDelta(ref reader, ref text)) return false;
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.Null) return false;
            }
            else if (reader.ValueTextEquals("index"u8))
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out _)) return false;
            }
            else if (!reader.Read() || !reader.TrySkip()) return false; // logprobs, …
        }
        if (reader.TokenType != JsonTokenType.EndObject) return false;
        // Further choices: skipped whole.
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            if (!reader.TrySkip()) return false;
        return reader.TokenType == JsonTokenType.EndArray;
    }

    private static bool ReadDelta(ref Utf8JsonReader reader, ref string? text)
    {
        if (!reader.Read()) return false;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.StartObject) return false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("content"u8))
            {
                if (!reader.Read()) return false;
                if (reader.TokenType == JsonTokenType.String) text = reader.GetString();
                else if (reader.TokenType != JsonTokenType.Null) return false; // Mistral's chunk array
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.Null) return false;
            }
            else if (reader.ValueTextEquals("role"u8) || reader.ValueTextEquals("refusal"u8))
            {
                // Read by the deserializer only as strings: anything else must fail there, as before.
                if (!reader.Read() || reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null)) return false;
            }
            else if (!reader.Read() || !reader.TrySkip()) return false;
        }
        return reader.TokenType == JsonTokenType.EndObject;
    }
}
