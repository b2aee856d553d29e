using System.Globalization;
using IntegrationApi.Bench;

// bench/run.sh calls this with one of:
//   gateways [--quick] [--portkey DIR] [--gateway-cpu N] [--load-cpu N]   the gateway comparison -> bench/RESULTS.md, results.json, *.png
//            [--only abcdefh]  run only the named regimes (e: per-chunk gaps, f: paced streams, h: hedging, bench/results/hedging.md; --only h leaves RESULTS.md alone)
//            [--hedge-runs N]  hedging runs (default 3)       [--floor]   split one sequential chat into parts, print, stop
//            [--repeat N]  the comparison N times: headline = median (min-max), every run in bench/results/runs/run-K.json
//            [--paced-steps 5000,10000]  other stream counts for regime (f)
//   client-overhead [rounds] [perRound]                                      the client library's multiplexing cost
//   embedding-overhead [rounds] [perRound]                                   Embedding through the gateway vs the direct call
//   profile [streamed|unary] [seconds]                                      a steady load to attach a profiler to (Profile.cs)
//   idle-memory [streams] [--gcdump]                                         RSS (and live managed bytes by type) per idle StreamChat stream
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var command = args.Length > 0 ? args[0] : "gateways";
switch (command)
{
    case "client-overhead":
        await ClientOverhead.RunAsync(args[1..]);
        return 0;
    case "embedding-overhead":
        await EmbeddingOverhead.RunAsync(args[1..]);
        return 0;
    case "profile":
        await Profile.RunAsync(args[1..]);
        return 0;
    case "idle-memory":
        return await IdleMemory.RunAsync(args[1..]);
    case "gateways":
        return await GatewayBench.RunAsync(BenchSettings.Parse(args[1..]));
    default:
        Console.Error.WriteLine($"unknown command \"{command}\" (gateways, client-overhead, embedding-overhead, idle-memory)");
        return 2;
}
