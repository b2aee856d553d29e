using IntegrationApi.Chat;

namespace IntegrationApi.Tests.Unit;

public sealed class ChatResultBuilderTests
{
    [Fact]
    public void Fold_TextToolFragmentsUsageAndFinish()
    {
        var b = new ChatResultBuilder();
        b.Add(ChatUpdate.FromUsage(new TokenUsage(Input: 10, Output: 1)));
        b.Add(ChatUpdate.FromText("Hel"));
        b.Add(ChatUpdate.FromToolCall(1, "call_b", "two", "{\"b\""));
        b.Add(ChatUpdate.FromText("lo"));
        b.Add(ChatUpdate.FromToolCall(0, "call_a", "one", null));
        b.Add(ChatUpdate.FromToolCall(1, null, null, ":1}"));
        b.Add(ChatUpdate.FromUsage(new TokenUsage(Output: 7)));   // cumulative output, input kept
        var result = b.Build();

        Assert.Equal("Hello", result.Text);
        Assert.Equal([new ChatToolCall("call_a", "one", "{}"), new ChatToolCall("call_b", "two", "{\"b\":1}")], result.ToolCalls);
        Assert.Equal(new TokenUsage(10, 7, 17), result.Usage);
        Assert.Equal(ChatFinishReason.ToolCalls, result.FinishReason); // inferred: calls and no explicit reason
    }

    [Fact]
    public void ExplicitFinishReason_AndProviderTotal_Win()
    {
        var b = new ChatResultBuilder();
        b.Add(ChatUpdate.FromText("x"));
        b.Add(ChatUpdate.FromUsage(new TokenUsage(3, 4, 9)));
        b.Add(ChatUpdate.Finished(ChatFinishReason.Length));
        var result = b.Build();
        Assert.Equal(ChatFinishReason.Length, result.FinishReason);
        Assert.Equal(9, result.Usage.Total);
    }
}
