using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace IntegrationApi;

/// <summary>The callers' connections (<c>Server</c> section): HTTP/2 keepalive and message size.</summary>
public sealed class ConnectionOptions
{
    /// <summary>Ping an idle HTTP/2 connection this often, so proxies keep it and dead peers are found (Kestrel's minimum is 1 s).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")] public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Close the connection when a ping gets no answer within this (Kestrel's minimum is 1 s).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")] public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Largest ChatRequest accepted (bytes); larger ones end the call with ResourceExhausted.</summary>
    [Range(1024, int.MaxValue)] public int MaxReceiveMessageSize { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Serve gRPC server reflection (callable without a principal). Unset: on everywhere except in the
    /// Production environment, where it is off unless set to true.
    /// </summary>
    public bool? EnableReflection { get; set; }

    /// <summary>
    /// Run request work on the thread that read it instead of handing it to the thread pool: Kestrel's
    /// <c>UnsafePreferInlineScheduling</c>, and (set by the service's entry point before any socket exists) the
    /// runtime's inline socket completions, for the callers' and the providers' connections alike. Each hand-off
    /// costs a thread switch; on one or two cores that is most of a short chat's added latency
    /// (bench/results/optimisation.md). Safe here because no request path blocks a thread (the audit writer and
    /// SQLite run on their own thread).
    /// </summary>
    public bool InlineIo { get; set; }

    /// <summary>Whether reflection is served in <paramref name="environment"/>.</summary>
    public bool ReflectionEnabled(IHostEnvironment environment) => EnableReflection ?? !environment.IsProduction();
}

/// <summary>Checks <see cref="ConnectionOptions"/> at start (generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class ConnectionOptionsValidator : IValidateOptions<ConnectionOptions>;
