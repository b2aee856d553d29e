using System.Security.Cryptography;
using System.Text;

namespace IntegrationApi.Chat;

/// <summary>
/// Tool-call ids (docs/contract.md §8.4): made when a provider sends none, and adapted when a conversation moves to a
/// provider with rules of its own. A made id is 9 letters and digits, which every provider accepts (Mistral's rule is the
/// strictest: exactly 9 of <c>[a-zA-Z0-9]</c>).
/// </summary>
public static class ToolCallIds
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /// <summary>A fresh random id of 9 letters and digits.</summary>
    public static string Make()
    {
        Span<char> id = stackalloc char[9];
        for (var i = 0; i < id.Length; i++) id[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        return new string(id);
    }

    /// <summary>True when <paramref name="id"/> is exactly 9 of <c>[a-zA-Z0-9]</c>.</summary>
    public static bool IsNineAlphanumeric(string id)
    {
        if (id.Length != 9) return false;
        foreach (var c in id) if (!char.IsAsciiLetterOrDigit(c)) return false;
        return true;
    }

    /// <summary>
    /// <paramref name="id"/> as Mistral accepts it: unchanged when it already fits, else 9 letters and digits derived from it
    /// (the same id always maps to the same one, so a call and its result still match, on every turn).
    /// </summary>
    public static string ToNineAlphanumeric(string id)
    {
        if (IsNineAlphanumeric(id)) return id;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(id), hash);
        Span<char> result = stackalloc char[9];
        for (var i = 0; i < result.Length; i++) result[i] = Alphabet[hash[i] % Alphabet.Length];
        return new string(result);
    }

    /// <summary>
    /// <paramref name="id"/> as Anthropic accepts it (<c>^[a-zA-Z0-9_-]+$</c>): other characters become <c>_</c>, and an
    /// empty id gets a derived one.
    /// </summary>
    public static string ToAnthropic(string id)
    {
        if (id.Length == 0) return ToNineAlphanumeric(id);
        var ok = true;
        foreach (var c in id) ok &= char.IsAsciiLetterOrDigit(c) || c is '_' or '-';
        if (ok) return id;
        var chars = id.ToCharArray();
        for (var i = 0; i < chars.Length; i++) if (!(char.IsAsciiLetterOrDigit(chars[i]) || chars[i] is '_' or '-')) chars[i] = '_';
        return new string(chars) + "_" + ToNineAlphanumeric(id); // the suffix keeps two ids that differ only in such characters apart
    }
}
