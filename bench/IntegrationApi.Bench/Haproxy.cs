using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace IntegrationApi.Bench;

/// <summary>
/// The floor: Debian's HAProxy as a plain HTTP/1.1 reverse proxy in front of the same upstream, pinned to the gateway
/// core like every gateway. It forwards bytes and does no translation, no auth, no audit: whatever a gateway adds
/// beyond HAProxy's figures is the price of what it does, not of being a hop. One thread, keep-alive on both sides
/// (<c>http-reuse always</c> shares idle server connections), no logging. Skipped with a note when the binary is missing.
/// </summary>
internal static class Haproxy
{
    private const string Binary = "/usr/sbin/haproxy";

    public static async Task<(GatewayProcess Process, HttpChatTarget Target)?> StartAsync(BenchSettings settings, string upstreamBaseUrl, BenchReport report)
    {
        if (!File.Exists(Binary))
        {
            report.Peers.Add(new PeerStatus("HAProxy (floor)", false, $"not run: {Binary} is missing (apt-get install haproxy; .ci/run installs it)"));
            return null;
        }
        var upstream = new Uri(upstreamBaseUrl);
        var port = GatewayBench.FreePort();
        var config = Path.Combine(BenchPaths.Work, "haproxy.cfg");
        await File.WriteAllTextAsync(config, Config(port, upstream.Port));
        // -db: stay in the foreground (taskset's child is HAProxy itself, so its CPU time is the process's).
        var process = GatewayProcess.Start("haproxy", settings.GatewayCpu, Binary, ["-db", "-f", config]);
        using var http = new HttpClient();
        await process.WaitReadyAsync(async () => (await http.GetAsync($"http://127.0.0.1:{port}/haproxy-health")).IsSuccessStatusCode, TimeSpan.FromSeconds(30));
        var version = (await VersionAsync()).Trim();
        report.Peers.Add(new PeerStatus("HAProxy (floor)", true,
            $"{version} (Debian), `mode http`, `nbthread 1`, `option http-keep-alive`, `option http-no-delay` (else it holds streamed frames back ~200 ms), `http-reuse always`, no logging; a plain reverse proxy to the same upstream, no translation (configuration: bench/.work/haproxy.cfg, written by Haproxy.cs)"));
        return (process, new HttpChatTarget($"haproxy {version.Split(' ').ElementAtOrDefault(2) ?? "?"} (floor)",
            $"http://127.0.0.1:{port}{upstream.AbsolutePath.TrimEnd('/')}/chat/completions", ("authorization", "Bearer " + BenchUpstream.Key)));
    }

    /// <summary>
    /// The whole configuration. maxconn stays well under the descriptor limit (two per proxied connection); the timeouts
    /// are long enough for the paced upstream and never reached by the zero-latency one.
    /// </summary>
    private static string Config(int port, int upstreamPort) => string.Create(CultureInfo.InvariantCulture, $"""
        global
            nbthread 1
            maxconn 4000

        defaults
            mode http
            option http-keep-alive
            # Without it HAProxy sends with MSG_MORE and the kernel holds a streamed answer's small frames back up to ~200 ms
            # (regime e saw 224 ms gaps); anyone proxying SSE sets it.
            option http-no-delay
            http-reuse always
            timeout connect 5s
            timeout client 60s
            timeout server 60s
            timeout http-keep-alive 60s
            timeout http-request 10s

        frontend bench
            bind 127.0.0.1:{port}
            monitor-uri /haproxy-health
            default_backend upstream

        backend upstream
            server upstream 127.0.0.1:{upstreamPort}

        """);

    private static async Task<string> VersionAsync()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(Binary, "-v") { RedirectStandardOutput = true })!;
            var first = (await p.StandardOutput.ReadLineAsync()) ?? "HAProxy";
            await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            return first.Split(" - ", 2)[0]; // "HAProxy version 2.6.12-1+deb12u4 2026/10/17"
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or SocketException) { return "HAProxy"; }
    }
}
