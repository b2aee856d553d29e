using System.Globalization;
using System.Text.RegularExpressions;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>Reads the Prometheus text format of <c>/metrics</c>: series by name and a subset of their labels.</summary>
public static partial class PrometheusText
{
    /// <summary>The values of every series <paramref name="metric"/> whose labels include <paramref name="labels"/> (<c>name=value</c>).</summary>
    public static IReadOnlyList<double> Values(string text, string metric, params string[] labels)
    {
        var wanted = labels.Select(l => l.Split('=', 2)).Select(p => (p[0], p[1])).ToArray();
        var values = new List<double>();
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(metric + "{", StringComparison.Ordinal) && !line.StartsWith(metric + " ", StringComparison.Ordinal)) continue;
            var close = line.LastIndexOf('}');
            var found = Label().Matches(close < 0 ? "" : line[..close]).Select(m => (m.Groups[1].Value, m.Groups[2].Value)).ToHashSet();
            if (wanted.All(found.Contains)) values.Add(double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        }
        return values;
    }

    /// <summary>The one value of the series <paramref name="metric"/> with <paramref name="labels"/>; fails unless exactly one matches.</summary>
    public static double Single(string text, string metric, params string[] labels)
    {
        var values = Values(text, metric, labels);
        Assert.True(values.Count == 1, $"{values.Count} series {metric}{{{string.Join(",", labels)}}}");
        return values[0];
    }

    [GeneratedRegex("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex Label();
}
