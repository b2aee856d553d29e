using System.Text;

namespace IntegrationApi.Chat;

/// <summary>The complete answer to one request: all text, all tool calls, usage and finish reason.</summary>
public sealed record ChatResult(string Text, IReadOnlyList<ChatToolCall> ToolCalls, TokenUsage Usage, ChatFinishReason FinishReason)
{
    /// <summary>Reasoning and provider state, in the order the provider sent it (docs/contract.md §8.1).</summary>
    public IReadOnlyList<ChatReasoning> Reasoning { get; init; } = [];
}

/// <summary>Folds a stream of <see cref="ChatUpdate"/>s into a <see cref="ChatResult"/>.</summary>
public sealed class ChatResultBuilder
{
    private readonly StringBuilder _text = new();
    private readonly List<(int Index, string? Id, string? Name, StringBuilder Args)> _calls = [];
    private readonly Dictionary<int, int> _positions = [];
    private readonly List<(int Index, StringBuilder Text, Dictionary<string, string> Meta)> _reasoning = [];
    private TokenUsage _usage = new();
    private ChatFinishReason _finish;

    /// <summary>Adds one update.</summary>
    public void Add(ChatUpdate update)
    {
        switch (update.Kind)
        {
            case ChatUpdateKind.Text:
                _text.Append(update.Text);
                break;
            case ChatUpdateKind.ToolCall:
                AddToolCall(update);
                break;
            case ChatUpdateKind.Usage:
                var u = update.Usage!;
                _usage = new TokenUsage(
                    u.Input ?? _usage.Input, u.Output ?? _usage.Output, u.Total ?? _usage.Total,
                    u.CachedInput ?? _usage.CachedInput, u.Reasoning ?? _usage.Reasoning, u.CacheWrite ?? _usage.CacheWrite);
                break;
            case ChatUpdateKind.Reasoning:
                AddReasoning(update);
                break;
            case ChatUpdateKind.Finish:
                _finish = update.FinishReason;
                break;
        }
    }

    private void AddReasoning(ChatUpdate update)
    {
        var i = _reasoning.Count > 0 && _reasoning[^1].Index == update.Index ? _reasoning.Count - 1 : _reasoning.FindIndex(r => r.Index == update.Index);
        if (i < 0)
        {
            _reasoning.Add((update.Index, new StringBuilder(), new Dictionary<string, string>(StringComparer.Ordinal)));
            i = _reasoning.Count - 1;
        }
        var block = _reasoning[i];
        block.Text.Append(update.Text);
        if (update.Meta is { } meta)
            foreach (var (key, value) in meta) block.Meta[key] = value;
    }

    private void AddToolCall(ChatUpdate update)
    {
        // Most fragments continue the last call; the map keeps a stream of many calls linear (a provider's answer is input too).
        var i = _calls.Count > 0 && _calls[^1].Index == update.Index ? _calls.Count - 1 : _positions.GetValueOrDefault(update.Index, -1);
        if (i < 0)
        {
            _positions[update.Index] = _calls.Count;
            _calls.Add((update.Index, update.ToolCallId, update.ToolName, new StringBuilder(update.ArgumentsDelta)));
            return;
        }
        var call = _calls[i];
        call.Args.Append(update.ArgumentsDelta);
        _calls[i] = call with { Id = call.Id ?? update.ToolCallId, Name = call.Name ?? update.ToolName };
    }

    /// <summary>The folded result. Total tokens default to input + output when the provider gave no total.</summary>
    public ChatResult Build()
    {
        var calls = _calls
            .OrderBy(c => c.Index)
            .Select(c => new ChatToolCall(c.Id ?? ToolCallIds.Make(), c.Name ?? "", c.Args.Length == 0 ? "{}" : c.Args.ToString()))
            .ToArray();
        var usage = _usage.Total is null && (_usage.Input is not null || _usage.Output is not null)
            ? _usage with { Total = (_usage.Input ?? 0) + (_usage.Output ?? 0) }
            : _usage;
        var finish = !_finish.IsEmpty ? _finish : calls.Length > 0 ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop;
        var reasoning = _reasoning.Select(r => new ChatReasoning(r.Text.ToString(), r.Meta)).ToArray();
        return new ChatResult(_text.ToString(), calls, usage, finish) { Reasoning = reasoning };
    }
}
