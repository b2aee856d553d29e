using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IntegrationApi.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>
/// Every measurement one gateway records on the named instruments of its own meter (its meter factory, so the gateways
/// of other tests in the process don't show), with its tags.
/// </summary>
public sealed class MeasurementRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<Measurement> _measurements = new();

    public MeasurementRecorder(TestGateway gateway, params string[] instruments)
    {
        var factory = gateway.App.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (i, listener) =>
        {
            if (ReferenceEquals(i.Meter.Scope, factory) && i.Meter.Name == GatewayMetrics.MeterName && instruments.Contains(i.Name)) listener.EnableMeasurementEvents(i);
        };
        _listener.SetMeasurementEventCallback<long>((i, value, tags, _) => Add(i, value, tags));
        _listener.SetMeasurementEventCallback<double>((i, value, tags, _) => Add(i, value, tags));
        _listener.Start();
    }

    /// <summary>One measurement: the instrument, the value, and its tags as text.</summary>
    public sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, string> Tags);

    public IReadOnlyList<Measurement> Of(string instrument) => _measurements.Where(m => m.Instrument == instrument).ToList();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in tags) copy[k] = Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "";
        _measurements.Enqueue(new Measurement(instrument.Name, value, copy));
    }

    public void Dispose() => _listener.Dispose();
}
