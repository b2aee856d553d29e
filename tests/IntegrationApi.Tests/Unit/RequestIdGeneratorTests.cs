using IntegrationApi.Engine;
using Microsoft.Extensions.Options;

namespace IntegrationApi.Tests.Unit;

public sealed class RequestIdGeneratorTests
{
    [Fact]
    public async Task Next_UniqueAndIncreasingAcrossThreads()
    {
        var generator = new RequestIdGenerator(Options.Create(new EngineOptions { MachineId = 5 }), TimeProvider.System);
        var perThread = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            var ids = new ulong[50_000];
            for (var i = 0; i < ids.Length; i++) ids[i] = generator.Next();
            return ids;
        })));
        Assert.All(perThread, ids => Assert.True(ids.Zip(ids.Skip(1)).All(p => p.First < p.Second), "ids from one thread increase"));
        var all = perThread.SelectMany(x => x).ToArray();
        Assert.Equal(all.Length, all.Distinct().Count());
        Assert.All(all.Take(100), id => Assert.Equal(5UL, (id >> 12) & 0x3FF));
    }

    [Fact]
    public void Layout_MillisecondsSinceTheOriginalsEpoch()
    {
        var generator = new RequestIdGenerator(Options.Create(new EngineOptions()), TimeProvider.System);
        var millis = (long)(generator.Next() >> 22);
        var expected = (long)(DateTimeOffset.UtcNow - new DateTimeOffset(2008, 11, 10, 0, 0, 0, TimeSpan.Zero)).TotalMilliseconds;
        Assert.InRange(millis, expected - 60_000, expected + 60_000);
    }
}
