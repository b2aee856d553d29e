namespace IntegrationApi.Bench;

/// <summary>Where things are and how big the run is; <c>--quick</c> shrinks every regime to fit in a few minutes.</summary>
internal sealed record BenchSettings(bool Quick, string? PortkeyDir, int GatewayCpu, int LoadCpu, bool Floor, string Only)
{
    public static BenchSettings Parse(string[] args)
    {
        var quick = args.Contains("--quick");
        string? Value(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        return new BenchSettings(quick, Value("--portkey"),
            int.Parse(Value("--gateway-cpu") ?? "0", System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(Value("--load-cpu") ?? "1", System.Globalization.CultureInfo.InvariantCulture),
            args.Contains("--floor"), Value("--only") ?? "abcdefh")
        {
            HedgeRuns = int.Parse(Value("--hedge-runs") ?? "3", System.Globalization.CultureInfo.InvariantCulture),
            Repeat = Math.Max(1, int.Parse(Value("--repeat") ?? "1", System.Globalization.CultureInfo.InvariantCulture)),
            PacedStepsOverride = Value("--paced-steps")?.Split(',').Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
        };
    }

    /// <summary>Whether regime <paramref name="letter"/> (a-f, h) runs; <c>--only bd</c> runs two, for quicker iterations; <c>--only h</c> only hedging.</summary>
    public bool Runs(char letter) => Only.Contains(letter, StringComparison.Ordinal);

    /// <summary>Sequential regime: interleaved rounds x requests per round, per target and mode.</summary>
    public int Rounds => Quick ? 4 : 10;
    public int PerRound => Quick ? 100 : 300;

    /// <summary>Open-loop regime: offered rates and how long each step lasts.</summary>
    public int[] Rates => Quick ? [500, 1000, 2000, 4000] : [500, 1000, 2000, 3000, 5000, 7500, 10000];
    public TimeSpan StepDuration => Quick ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(5);

    /// <summary>Pattern regime: chats per pattern and how many run at once.</summary>
    public int PatternChats => Quick ? 600 : 3000;
    public int PatternConcurrency => 16;

    /// <summary>Streams regime: idle streams held open, active streams each running chats back to back.</summary>
    public int IdleStreams => Quick ? 2000 : 10_000;
    public int ActiveStreams => Quick ? 200 : 1000;
    public TimeSpan ActiveDuration => Quick ? TimeSpan.FromSeconds(4) : TimeSpan.FromSeconds(10);

    /// <summary>
    /// Per-chunk regime (e): content chunks per chat (20 ms apart), chats one at a time, then chats
    /// <see cref="GapConcurrency"/> at a time; per target ~1 s a chat.
    /// </summary>
    public int GapChunks => 50;
    public int GapSequentialChats => Quick ? 2 : 5;
    public int GapConcurrentChats => Quick ? 8 : 20;
    public int GapConcurrency => 4;

    /// <summary>Paced-streams regime (f): streams per step (stepping stops at the first failed step), each step's length, chunks per chat (100 ms apart).</summary>
    public int[] PacedStreams => PacedStepsOverride ?? (Quick ? [1000, 5000] : [500, 1000, 2000, 5000, 7500, 10_000]);
    /// <summary><c>--paced-steps 5000,10000</c>: other steps for (f), e.g. to try one high step alone.</summary>
    public int[]? PacedStepsOverride { get; init; }
    public TimeSpan PacedStepDuration => Quick ? TimeSpan.FromSeconds(3) : TimeSpan.FromSeconds(10);
    public int PacedChunks => 20;

    /// <summary>How many times the gateway comparison runs (<c>--repeat N</c>); the headline then shows the median and the spread.</summary>
    public int Repeat { get; init; } = 1;

    /// <summary>Hedging regime: runs (each without and with hedging), requests per variant and run, requests in flight.</summary>
    public int HedgeRuns { get; init; } = 3;
    public int HedgeRequests => Quick ? 200 : 500;
    public int HedgeConcurrency => 16;
}

internal static class BenchPaths
{
    public static string RepoRoot { get; } = Find();

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IntegrationApi.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }

    public static string Bench => Path.Combine(RepoRoot, "bench");
    public static string Work => Directory.CreateDirectory(Path.Combine(Bench, ".work")).FullName;
}
