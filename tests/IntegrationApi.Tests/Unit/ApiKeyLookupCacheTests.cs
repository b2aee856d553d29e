using IntegrationApi.Auth;
using IntegrationApi.Tests.Infrastructure;

namespace IntegrationApi.Tests.Unit;

/// <summary>The stored-key lookup cache: one query for a burst, short positive and shorter negative answers, failures never kept.</summary>
public sealed class ApiKeyLookupCacheTests
{
    private static readonly KeyOwner Owner = new(11, 12);
    private readonly ShiftedTimeProvider _clock = new();
    private int _queries;

    private ApiKeyLookupCache Cache(Func<string, Task<KeyOwner?>> answer) =>
        new(hash => { Interlocked.Increment(ref _queries); return answer(hash); }, _clock);

    [Fact]
    public async Task BurstOfLookupsOfOneKey_OneQuery_ThenAnsweredSynchronously()
    {
        var gate = new TaskCompletionSource<KeyOwner?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cache = Cache(_ => gate.Task);
        var burst = Enumerable.Range(0, 100).Select(_ => cache.GetAsync("k", CancellationToken.None).AsTask()).ToArray();
        Assert.Equal(1, _queries);
        gate.SetResult(Owner);
        Assert.All(await Task.WhenAll(burst).DefaultTimeout(), owner => Assert.Equal(Owner, owner));

        var cached = cache.GetAsync("k", CancellationToken.None);
        Assert.True(cached.IsCompletedSuccessfully);
        Assert.Equal(Owner, await cached);
        Assert.Equal(1, _queries);
    }

    [Fact]
    public async Task FoundKey_KeptForFoundFor_UnknownKey_ForUnknownFor()
    {
        var cache = Cache(hash => Task.FromResult<KeyOwner?>(hash == "known" ? Owner : null));
        Assert.Equal(Owner, await cache.GetAsync("known", CancellationToken.None));
        Assert.Null(await cache.GetAsync("unknown", CancellationToken.None));
        Assert.Equal(2, _queries);

        _clock.Offset = ApiKeyLookupCache.UnknownFor + TimeSpan.FromMilliseconds(100);
        Assert.Equal(Owner, await cache.GetAsync("known", CancellationToken.None));
        Assert.Null(await cache.GetAsync("unknown", CancellationToken.None));
        Assert.Equal(3, _queries); // only the unknown key was asked again

        _clock.Offset = ApiKeyLookupCache.FoundFor + TimeSpan.FromMilliseconds(100);
        Assert.Equal(Owner, await cache.GetAsync("known", CancellationToken.None));
        Assert.Equal(4, _queries);
    }

    [Fact]
    public async Task FailedQuery_NotKept_EveryWaiterSeesIt_NextLookupAsksAgain()
    {
        var gate = new TaskCompletionSource<KeyOwner?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cache = Cache(_ => _queries == 1 ? gate.Task : Task.FromResult<KeyOwner?>(Owner));
        var first = cache.GetAsync("k", CancellationToken.None).AsTask();
        var second = cache.GetAsync("k", CancellationToken.None).AsTask();
        gate.SetException(new TimeoutException("store down"));
        await Assert.ThrowsAsync<TimeoutException>(() => first).DefaultTimeout();
        await Assert.ThrowsAsync<TimeoutException>(() => second).DefaultTimeout();

        Assert.Equal(Owner, await cache.GetAsync("k", CancellationToken.None));
        Assert.Equal(2, _queries);
    }

    [Fact]
    public async Task Remove_NextLookupAsksTheStore()
    {
        var cache = Cache(_ => Task.FromResult<KeyOwner?>(_queries == 1 ? Owner : null));
        Assert.Equal(Owner, await cache.GetAsync("k", CancellationToken.None));
        cache.Remove("k"); // revoked through this instance
        Assert.Null(await cache.GetAsync("k", CancellationToken.None));
        Assert.Equal(2, _queries);
    }

    [Fact]
    public async Task Set_AnswersLaterLookups()
    {
        var cache = Cache(_ => Task.FromResult<KeyOwner?>(Owner));
        Assert.Equal(Owner, await cache.GetAsync("k", CancellationToken.None));
        cache.Set("k", null); // a fresh read found it revoked
        Assert.Null(await cache.GetAsync("k", CancellationToken.None));
        Assert.Equal(1, _queries);
    }

    [Fact]
    public async Task CallerCancels_SharedQueryGoesOn()
    {
        var gate = new TaskCompletionSource<KeyOwner?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cache = Cache(_ => gate.Task);
        using var cancel = new CancellationTokenSource();
        var impatient = cache.GetAsync("k", cancel.Token).AsTask();
        var patient = cache.GetAsync("k", CancellationToken.None).AsTask();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient).DefaultTimeout();
        gate.SetResult(Owner);
        Assert.Equal(Owner, await patient.DefaultTimeout());
        Assert.Equal(1, _queries);
    }

    [Fact]
    public async Task ManyKeys_BoundedByCapacity_StillAnswers()
    {
        var cache = Cache(_ => Task.FromResult<KeyOwner?>(null));
        for (var i = 0; i < ApiKeyLookupCache.Capacity + 10; i++) await cache.GetAsync($"k{i}", CancellationToken.None);
        Assert.Null(await cache.GetAsync("k0", CancellationToken.None)); // cleared once full: asked again
        Assert.Equal(ApiKeyLookupCache.Capacity + 11, _queries);
    }
}
