using IntegrationApi.Audit;
using IntegrationApi.Engine;

namespace IntegrationApi.Tests.Unit;

/// <summary>The attempts of an audit record: one compact JSON shape, and which attempt served the request.</summary>
public sealed class AuditAttemptTests
{
    private static AuditAttempt Attempt(string result, int code, long? ttft, string model = "m") => new("openai", model, result, code, ttft, 1_000, 1);

    [Fact]
    public void Json_IsCompactSnakeCase_NullsWritten_RoundTrips()
    {
        IReadOnlyList<AuditAttempt> attempts =
        [
            new("openai", "gpt-4o-mini", AuditAttempt.Failed, 503, null, 1_200_000, 3),
            new("anthropic", "claude", AuditAttempt.Succeeded, 200, 40_000_000, 90_000_000, 1),
        ];
        var json = AuditAttempt.ToJson(attempts);
        Assert.Equal("""[{"provider":"openai","model":"gpt-4o-mini","result":"failed","code":503,"ttft_ns":null,"elapsed_ns":1200000,"tries":3},""" +
            """{"provider":"anthropic","model":"claude","result":"succeeded","code":200,"ttft_ns":40000000,"elapsed_ns":90000000,"tries":1}]""", json);
        Assert.Equal(attempts, AuditAttempt.FromJson(json));
        Assert.Equal("[]", AuditAttempt.ToJson([]));
        Assert.Empty(AuditAttempt.FromJson(null));
        Assert.Empty(AuditAttempt.FromJson(""));
        Assert.Empty(AuditAttempt.FromJson("null"));
    }

    [Fact]
    public void From_TheEnginesAttempt_InNanoseconds_ResultSpelledHere_ModelCut()
    {
        var a = AuditAttempt.From(new ChatAttempt("openai", "gpt", AttemptResult.Cancelled, 499, TimeSpan.FromMilliseconds(5), null, 1), 256);
        Assert.Equal(new AuditAttempt("openai", "gpt", "cancelled", 499, null, 5_000_000, 1), a);
        var b = AuditAttempt.From(new ChatAttempt("openai", new string('m', 300), AttemptResult.Succeeded, 200, TimeSpan.FromTicks(3), TimeSpan.FromTicks(2), 2), 256);
        Assert.Equal((256, "succeeded", (long?)200, 300L, 2), (b.Model.Length, b.Result, b.TimeToFirstTokenNs, b.ElapsedNs, b.Tries));
        Assert.Equal("failed", AuditAttempt.From(new ChatAttempt("p", "m", AttemptResult.Failed, 503, default, null, 3), 256).Result);
    }

    [Fact]
    public void Served_TheOneThatClaimedTheRequest_ElseAnEmptySuccess_ElseTheLast()
    {
        Assert.Null(AuditAttempt.Served([]));
        // Sequential: failures, then the fallback that answered.
        Assert.Equal("b", AuditAttempt.Served([Attempt("failed", 503, null, "a"), Attempt("succeeded", 200, 10, "b")])!.Model);
        // Every target failed: the last one that ran.
        Assert.Equal("b", AuditAttempt.Served([Attempt("failed", 503, null, "a"), Attempt("failed", 429, null, "b")])!.Model);
        // Hedged: attempts are listed as they end; the winner failed after its first token, a drained loser ended after it.
        Assert.Equal("a", AuditAttempt.Served([Attempt("failed", 502, 10, "a"), Attempt("cancelled", 499, null, "b")])!.Model);
        // An empty answer that ended before the winner's own end is not the winner.
        Assert.Equal("b", AuditAttempt.Served([Attempt("succeeded", 200, null, "a"), Attempt("succeeded", 200, 10, "b")])!.Model);
        // An empty answer that won (nothing produced a token).
        Assert.Equal("b", AuditAttempt.Served([Attempt("failed", 503, null, "a"), Attempt("succeeded", 200, null, "b"), Attempt("cancelled", 499, null, "c")])!.Model);
    }

    [Fact]
    public void Record_NullAttempts_ReadAsNone()
    {
        var record = AuditSpoolTests.Record(1) with { Attempts = null! };
        Assert.Empty(record.Attempts);
    }
}
