using Grpc.Core;

namespace IntegrationApi.Api;

/// <summary>Whether a unary call that was cancelled ended by its deadline or by the client.</summary>
internal static class CallDeadline
{
    /// <summary>
    /// A client whose own deadline fired resets the call a moment before the server's deadline (set on receipt, so a
    /// little later) fires: a cancel that close to the deadline is the deadline (504 / DEADLINE_EXCEEDED, not 499).
    /// </summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(1);

    /// <summary>True when the call's deadline has passed or is within <see cref="Tolerance"/>.</summary>
    public static bool Passed(ServerCallContext context, TimeProvider time) => context.Deadline <= time.GetUtcNow().UtcDateTime + Tolerance;
}
