using System.Collections.Frozen;

namespace IntegrationApi.Metrics;

/// <summary>
/// The bounded value of a model tag: a name on the allow-list (as configured), a family's prefix, <c>other</c>, or
/// empty when the request named no model. Lookups of names seen before cost one dictionary read.
/// </summary>
internal sealed class ModelTag
{
    public const string Other = "other";
    private const int MaxRemembered = 10_000;

    private readonly FrozenDictionary<string, string> _exact;
    private readonly (string Prefix, string Tag)[] _families; // longest first
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _seen = new(StringComparer.Ordinal);

    public ModelTag(IEnumerable<string> allowed)
    {
        var exact = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var families = new List<(string, string)>();
        foreach (var entry in allowed.Select(e => e.Trim()).Where(e => e.Length > 0))
        {
            if (entry.EndsWith('*')) families.Add((entry[..^1], entry[..^1]));
            else exact.TryAdd(entry, entry);
        }
        _exact = exact.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _families = [.. families.OrderByDescending(f => f.Item1.Length)];
    }

    /// <summary>The tag for <paramref name="model"/> as the caller sent it.</summary>
    public string For(string? model)
    {
        if (string.IsNullOrEmpty(model)) return "";
        if (_seen.TryGetValue(model, out var known)) return known;
        var tag = Resolve(model);
        // Remembered only while bounded: a caller sending endless new names costs a scan each, never memory.
        if (_seen.Count < MaxRemembered) _seen.TryAdd(model, tag);
        return tag;
    }

    private string Resolve(string model)
    {
        if (_exact.TryGetValue(model, out var tag)) return tag;
        foreach (var (prefix, family) in _families)
            if (model.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return family;
        return Other;
    }
}
