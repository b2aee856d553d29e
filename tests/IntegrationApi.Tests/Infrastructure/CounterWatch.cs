using System.Diagnostics.Metrics;
using IntegrationApi.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>
/// Sums one counter of one gateway (its own meter factory, so gateways of other tests in the process don't count) as
/// the service records it, so a test waits for background work to happen rather than polling for it.
/// </summary>
public sealed class CounterWatch : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly List<(long Target, TaskCompletionSource Reached)> _waiters = [];
    private long _total;

    public CounterWatch(TestGateway gateway, string instrument)
    {
        var factory = gateway.App.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (i, listener) =>
        {
            if (ReferenceEquals(i.Meter.Scope, factory) && i.Meter.Name == GatewayMetrics.MeterName && i.Name == instrument) listener.EnableMeasurementEvents(i);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Add(value));
        _listener.Start();
    }

    public long Total { get { lock (_gate) return _total; } }

    /// <summary>Completes once the counter has reached <paramref name="target"/>.</summary>
    public Task WhenAtLeast(long target)
    {
        lock (_gate)
        {
            if (_total >= target) return Task.CompletedTask;
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, reached));
            return reached.Task;
        }
    }

    private void Add(long value)
    {
        lock (_gate)
        {
            _total += value;
            foreach (var waiter in _waiters.Where(w => _total >= w.Target).ToList())
            {
                waiter.Reached.SetResult();
                _waiters.Remove(waiter);
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
