namespace IntegrationApi.Tests.Infrastructure;

/// <summary>The system clock moved forward by <see cref="Offset"/> for wall-clock reads only; timers and timestamps stay real.</summary>
public sealed class ShiftedTimeProvider : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}
