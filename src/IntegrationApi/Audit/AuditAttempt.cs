using System.Text.Json;
using System.Text.Json.Serialization;

namespace IntegrationApi.Audit;

/// <summary>
/// One target a request ran on (the primary, a fallback or a hedge; docs/contract.md §9), as its audit record keeps it.
/// The same JSON everywhere: the <c>attempts</c> column, the <c>attempts</c> entry of the audit-log RPCs and the spool.
/// </summary>
/// <param name="Result"><see cref="Succeeded"/>, <see cref="Failed"/> or <see cref="Cancelled"/>.</param>
/// <param name="Code">The contract code it ended with (200, its error's, 499 when cancelled).</param>
/// <param name="TimeToFirstTokenNs">From the start of the request to this target's first token; null when it had none.</param>
/// <param name="ElapsedNs">How long it ran.</param>
/// <param name="Tries">Upstream calls it made (1 plus its retries).</param>
public sealed record AuditAttempt(
    [property: JsonPropertyName("provider")] string Provider,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("result")] string Result,
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("ttft_ns")] long? TimeToFirstTokenNs,
    [property: JsonPropertyName("elapsed_ns")] long ElapsedNs,
    [property: JsonPropertyName("tries")] int Tries)
{
    public const string Succeeded = "succeeded", Failed = "failed", Cancelled = "cancelled";

    /// <summary>The engine's attempt; the result is spelled here, so renaming the engine's enum never changes stored records.</summary>
    public static AuditAttempt From(Engine.ChatAttempt attempt, int maxModelLength) => new(
        attempt.Provider,
        attempt.Model.Length <= maxModelLength ? attempt.Model : attempt.Model[..maxModelLength],
        attempt.Result switch
        {
            Engine.AttemptResult.Succeeded => Succeeded,
            Engine.AttemptResult.Cancelled => Cancelled,
            _ => Failed,
        },
        attempt.Code,
        attempt.TimeToFirstToken is { } ttft ? ttft.Ticks * 100 : null,
        attempt.Elapsed.Ticks * 100,
        attempt.Tries);

    /// <summary>Compact JSON: <c>[{"provider":"openai","model":"gpt-4o","result":"failed","code":503,"ttft_ns":null,"elapsed_ns":1200000,"tries":3}, …]</c>.</summary>
    public static string ToJson(IReadOnlyList<AuditAttempt> attempts) => JsonSerializer.Serialize(attempts, AuditJsonContext.Default.IReadOnlyListAuditAttempt);

    /// <summary>The attempts in <paramref name="json"/>; none for null or empty (a record written before attempts were kept).</summary>
    public static IReadOnlyList<AuditAttempt> FromJson(string? json) =>
        string.IsNullOrWhiteSpace(json) ? [] : JsonSerializer.Deserialize(json, AuditJsonContext.Default.IReadOnlyListAuditAttempt) ?? [];

    /// <summary>
    /// The attempt that served the request, as the terminal's <c>PROVIDER_NAME</c>/<c>MODEL_NAME</c> name it (or, when
    /// every target failed, the last one that ran); null when there are none. The engine's rules make it one of:
    /// the attempt that claimed the request at its first token (a loser that reached one is cancelled, not failed);
    /// else the one that succeeded with no token at all (an empty answer); else the last, all of them having failed.
    /// </summary>
    public static AuditAttempt? Served(IReadOnlyList<AuditAttempt> attempts) =>
        attempts.FirstOrDefault(a => a.TimeToFirstTokenNs is not null && a.Result != Cancelled)
        ?? attempts.FirstOrDefault(a => a.Result == Succeeded)
        ?? (attempts.Count > 0 ? attempts[^1] : null);
}

/// <summary>Source-generated JSON of <see cref="AuditAttempt"/> lists (nulls written, so every attempt has the same fields).</summary>
[JsonSerializable(typeof(IReadOnlyList<AuditAttempt>))]
internal sealed partial class AuditJsonContext : JsonSerializerContext;
