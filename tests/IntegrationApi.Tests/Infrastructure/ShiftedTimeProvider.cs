namespace IntegrationApi.Tests.Infrastructure;

/// <summary>
/// The system clock moved forward by <see cref="Offset"/>: wall-clock reads and timestamps (elapsed-time checks)
/// both move; timers stay real.
/// </summary>
public sealed class ShiftedTimeProvider : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;

    public override long GetTimestamp() => base.GetTimestamp() + (long)(Offset.TotalSeconds * TimestampFrequency);
}
