namespace IntegrationApi.Bench;

/// <summary>Percentiles of one set of samples (nearest rank).</summary>
internal sealed record Dist(int N, double P50, double P90, double P99, double Max, double Mean)
{
    public static Dist Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return new Dist(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        return new Dist(sorted.Length, Pct(sorted, 0.50), Pct(sorted, 0.90), Pct(sorted, 0.99), sorted[^1], sorted.Average());
    }

    public static double Pct(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>This distribution minus a baseline, percentile by percentile.</summary>
    public Dist Minus(Dist baseline) => new(N, P50 - baseline.P50, P90 - baseline.P90, P99 - baseline.P99, Max - baseline.Max, Mean - baseline.Mean);
}
