using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Chat;

namespace IntegrationApi.Api;

/// <summary>
/// <c>google.protobuf.Value</c> / <c>Any</c> from a caller, as JSON. Written here rather than with
/// <see cref="JsonFormatter"/> because every way a caller's value can be unusable must be a 400 naming where it
/// is: a <c>Value</c> with no kind set (the formatter throws), NaN or ±Infinity (JSON has no such number),
/// nesting deeper than <see cref="MaxDepth"/> (readers downstream refuse deep documents), invalid UTF-8 bytes.
/// </summary>
internal static class ProtoJson
{
    /// <summary>Deepest nesting of structs and lists accepted in one value.</summary>
    public const int MaxDepth = 20;

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>The JSON of a model parameter packed as <c>Any</c> (a <c>Value</c>, <c>Struct</c>, <c>ListValue</c> or a wrapper type).</summary>
    public static JsonElement FromAny(Any any, string where)
    {
        var typeName = any.TypeUrl[(any.TypeUrl.LastIndexOf('/') + 1)..];
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { MaxDepth = MaxDepth + 2 }))
        {
            try
            {
                switch (typeName)
                {
                    case "google.protobuf.Value": WriteValue(w, Value.Parser.ParseFrom(any.Value), where, 0); break;
                    case "google.protobuf.Struct": WriteStruct(w, Struct.Parser.ParseFrom(any.Value), where, 0); break;
                    case "google.protobuf.ListValue": WriteList(w, ListValue.Parser.ParseFrom(any.Value), where, 0); break;
                    case "google.protobuf.StringValue": w.WriteStringValue(StringValue.Parser.ParseFrom(any.Value).Value); break;
                    case "google.protobuf.BytesValue": w.WriteStringValue(Utf8(BytesValue.Parser.ParseFrom(any.Value).Value, where)); break;
                    case "google.protobuf.BoolValue": w.WriteBooleanValue(BoolValue.Parser.ParseFrom(any.Value).Value); break;
                    case "google.protobuf.DoubleValue": WriteNumber(w, DoubleValue.Parser.ParseFrom(any.Value).Value, where); break;
                    case "google.protobuf.FloatValue": WriteNumber(w, FloatValue.Parser.ParseFrom(any.Value).Value, where); break;
                    case "google.protobuf.Int64Value": w.WriteNumberValue(Int64Value.Parser.ParseFrom(any.Value).Value); break;
                    case "google.protobuf.UInt64Value": w.WriteNumberValue(UInt64Value.Parser.ParseFrom(any.Value).Value); break;
                    case "google.protobuf.Int32Value": w.WriteNumberValue(Int32Value.Parser.ParseFrom(any.Value).Value); break;
                    case "google.protobuf.UInt32Value": w.WriteNumberValue(UInt32Value.Parser.ParseFrom(any.Value).Value); break;
                    default:
                        throw new ChatRequestException($"{where} has type \"{Printable(any.TypeUrl)}\"; send a google.protobuf.Value or a wrapper type");
                }
            }
            catch (InvalidProtocolBufferException)
            {
                throw new ChatRequestException($"{where} is not a valid {Printable(typeName)} (its bytes do not decode)");
            }
        }
        using var doc = JsonDocument.Parse(buffer.WrittenMemory, new JsonDocumentOptions { MaxDepth = MaxDepth + 2 });
        return doc.RootElement.Clone();
    }

    /// <summary>A credential field as text: strings as they are, numbers and booleans as their JSON text, structs and lists as JSON.</summary>
    public static string ToText(Value value, string where)
    {
        switch (value.KindCase)
        {
            case Value.KindOneofCase.StringValue: return value.StringValue;
            case Value.KindOneofCase.BoolValue: return value.BoolValue ? "true" : "false";
            case Value.KindOneofCase.NullValue: return "";
            case Value.KindOneofCase.NumberValue:
                if (!double.IsFinite(value.NumberValue)) throw new ChatRequestException($"{where} is not a finite number");
                return value.NumberValue.ToString("R", CultureInfo.InvariantCulture);
            case Value.KindOneofCase.StructValue or Value.KindOneofCase.ListValue:
                var buffer = new ArrayBufferWriter<byte>(256);
                using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { MaxDepth = MaxDepth + 2 })) WriteValue(w, value, where, 0);
                return Encoding.UTF8.GetString(buffer.WrittenSpan);
            default:
                throw NoKind(where);
        }
    }

    private static void WriteValue(Utf8JsonWriter w, Value value, string where, int depth)
    {
        switch (value.KindCase)
        {
            case Value.KindOneofCase.NullValue: w.WriteNullValue(); break;
            case Value.KindOneofCase.NumberValue: WriteNumber(w, value.NumberValue, where); break;
            case Value.KindOneofCase.StringValue: w.WriteStringValue(value.StringValue); break;
            case Value.KindOneofCase.BoolValue: w.WriteBooleanValue(value.BoolValue); break;
            case Value.KindOneofCase.StructValue: WriteStruct(w, value.StructValue, where, depth); break;
            case Value.KindOneofCase.ListValue: WriteList(w, value.ListValue, where, depth); break;
            default: throw NoKind(where);
        }
    }

    private static void WriteStruct(Utf8JsonWriter w, Struct value, string where, int depth)
    {
        if (depth >= MaxDepth) throw TooDeep(where);
        w.WriteStartObject();
        foreach (var (key, field) in value.Fields)
        {
            w.WritePropertyName(key);
            WriteValue(w, field, $"{where}.{Printable(key)}", depth + 1);
        }
        w.WriteEndObject();
    }

    private static void WriteList(Utf8JsonWriter w, ListValue value, string where, int depth)
    {
        if (depth >= MaxDepth) throw TooDeep(where);
        w.WriteStartArray();
        for (var i = 0; i < value.Values.Count; i++) WriteValue(w, value.Values[i], $"{where}[{i}]", depth + 1);
        w.WriteEndArray();
    }

    private static void WriteNumber(Utf8JsonWriter w, double number, string where)
    {
        if (!double.IsFinite(number)) throw new ChatRequestException($"{where} is not a finite number (NaN and Infinity have no JSON form)");
        w.WriteNumberValue(number);
    }

    private static string Utf8(ByteString bytes, string where)
    {
        try { return StrictUtf8.GetString(bytes.Span); }
        catch (DecoderFallbackException) { throw new ChatRequestException($"{where} is not valid UTF-8"); }
    }

    private static ChatRequestException NoKind(string where) =>
        new($"{where} has no value set (a google.protobuf.Value needs one of null, number, string, bool, struct or list)");

    private static ChatRequestException TooDeep(string where) => new($"{where} is nested more than {MaxDepth} levels deep");

    /// <summary>Caller text quoted in an error message: bounded, without control characters.</summary>
    public static string Printable(string text)
    {
        var cut = text.Length > 64 ? text[..64] + "…" : text;
        return cut.Any(char.IsControl) ? new string(cut.Select(c => char.IsControl(c) ? '?' : c).ToArray()) : cut;
    }
}
