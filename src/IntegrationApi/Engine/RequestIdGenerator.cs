using Microsoft.Extensions.Options;

namespace IntegrationApi.Engine;

/// <summary>
/// Unique, time-ordered uint64 request ids in the original's snowflake layout: 41 bits of milliseconds
/// since 2008-11-10 UTC, 10 bits of machine id, 12 bits of sequence. Lock-free. The machine id is
/// <see cref="EngineOptions.MachineId"/>, or one leased at start from the store the instances share
/// (<see cref="UseMachineId"/>), so that instances never mint the same id.
/// </summary>
public sealed class RequestIdGenerator(IOptions<EngineOptions> options, TimeProvider time)
{
    private static readonly DateTimeOffset Epoch = new(2008, 11, 10, 0, 0, 0, TimeSpan.Zero);
    private ulong _machine = (ulong)options.Value.MachineId & 0x3FF;
    private long _last; // (milliseconds << 12) | sequence of the last id handed out

    /// <summary>The machine id folded into the ids handed out from now on.</summary>
    public int MachineId => (int)Volatile.Read(ref _machine);

    /// <summary>Folds <paramref name="machineId"/> (0–1023) into the ids handed out from now on.</summary>
    public void UseMachineId(int machineId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(machineId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(machineId, 0x3FF);
        Volatile.Write(ref _machine, (ulong)machineId);
    }

    /// <summary>The next id.</summary>
    public ulong Next()
    {
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var now = (long)(time.GetUtcNow() - Epoch).TotalMilliseconds << 12;
            // Same millisecond (or the clock went back): bump the sequence; its overflow borrows the next millisecond.
            var next = now > last ? now : last + 1;
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
            {
                var millis = (ulong)next >> 12;
                var sequence = (ulong)next & 0xFFF;
                return (millis << 22) | (Volatile.Read(ref _machine) << 12) | sequence;
            }
        }
    }
}
