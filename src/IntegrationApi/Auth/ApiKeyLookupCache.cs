using System.Collections.Concurrent;

namespace IntegrationApi.Auth;

/// <summary>
/// Recent answers of the API key store, so that a burst of streams presenting one key makes one query: a found key is
/// remembered for <see cref="FoundFor"/>, an unknown one for <see cref="UnknownFor"/>, and concurrent lookups of one
/// key share the query in flight. A failed query is not remembered. At most <see cref="Capacity"/> keys are held;
/// past that the cache starts over (a dropped key is simply looked up again).
/// </summary>
/// <remarks>
/// This bounds how long a key revoked elsewhere (another instance, the <c>keys revoke</c> command) is still accepted
/// for new streams and calls: <see cref="FoundFor"/>. A revocation through the same <see cref="ApiKeyStore"/> removes
/// the entry, so it refuses the next stream at once.
/// </remarks>
internal sealed class ApiKeyLookupCache(Func<string, Task<KeyOwner?>> lookUp, TimeProvider time)
{
    /// <summary>How long a found key is taken as active without asking the store again.</summary>
    public static readonly TimeSpan FoundFor = TimeSpan.FromSeconds(5);

    /// <summary>How long an unknown (or revoked) key is refused without asking the store again.</summary>
    public static readonly TimeSpan UnknownFor = TimeSpan.FromSeconds(1);

    /// <summary>Most keys held at once.</summary>
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>The owner of the active key with this hash, or null; completes synchronously from the cache.</summary>
    public ValueTask<KeyOwner?> GetAsync(string sha256, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_entries.TryGetValue(sha256, out var entry))
            {
                var answer = entry.Answer.Task;
                if (!answer.IsCompleted) return new(answer.WaitAsync(cancellationToken));
                if (answer.IsCompletedSuccessfully && time.GetElapsedTime(entry.At) < (answer.Result is null ? UnknownFor : FoundFor)) return new(answer.Result);
                _entries.TryRemove(KeyValuePair.Create(sha256, entry)); // stale (or just failed): ask again
                continue;
            }
            if (_entries.Count >= Capacity) _entries.Clear();
            var mine = new Entry();
            if (!_entries.TryAdd(sha256, mine)) continue; // another caller started the query first: share it
            _ = FillAsync(sha256, mine);
            var task = mine.Answer.Task;
            return task.IsCompletedSuccessfully ? new(task.Result) : new(task.WaitAsync(cancellationToken));
        }
    }

    /// <summary>Remembers an answer just read from the store.</summary>
    public void Set(string sha256, KeyOwner? owner)
    {
        var entry = new Entry { At = time.GetTimestamp() };
        entry.Answer.SetResult(owner);
        if (_entries.Count >= Capacity) _entries.Clear();
        _entries[sha256] = entry;
    }

    /// <summary>Forgets a key (revoked or created here), so the next lookup asks the store.</summary>
    public void Remove(string sha256) => _entries.TryRemove(sha256, out _);

    /// <summary>Runs the one query for <paramref name="sha256"/>; its callers wait on <paramref name="entry"/>, never cancelling it.</summary>
    private async Task FillAsync(string sha256, Entry entry)
    {
        try
        {
            var owner = await lookUp(sha256).ConfigureAwait(false);
            entry.At = time.GetTimestamp();
            entry.Answer.SetResult(owner);
        }
        catch (Exception ex)
        {
            _entries.TryRemove(KeyValuePair.Create(sha256, entry));
            entry.Answer.SetException(ex);
        }
    }

    private sealed class Entry
    {
        public TaskCompletionSource<KeyOwner?> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>When the answer came (a <see cref="TimeProvider"/> timestamp), set before it is published.</summary>
        public long At { get; set; }
    }
}
