using System.Text;
using System.Text.Json;
using IntegrationApi.Chat;

namespace IntegrationApi.Providers.Replicate;

/// <summary>Pure translation between our chat types and Replicate's LLM predictions.</summary>
internal static class ReplicateWire
{
    /// <summary>
    /// Replicate has no chat schema: system turns become <c>system_prompt</c>; a single user turn is the
    /// prompt as is; a longer conversation becomes a transcript ending with <c>Assistant:</c>.
    /// </summary>
    public static ReplicateCreateRequest ToCreateRequest(ChatRequest request, out string modelPath)
    {
        var o = request.Options;
        var model = o.ModelId;
        if (request.Tools.Count > 0) throw new ChatRequestException("replicate models take no tool definitions");
        var colon = model.IndexOf(':');
        var name = colon < 0 ? model : model[..colon];
        var parts = name.Split('/');
        if (parts.Length != 2 || parts.Any(p => p.Length == 0 || !p.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            throw new ChatRequestException($"modelParameters[\"{ModelParameters.Name}\"] must be owner/name or owner/name:version");
        var field = $"modelParameters[\"{ModelParameters.Name}\"] (owner/name)";
        modelPath = colon < 0 ? $"models/{UrlSegment.Escape(parts[0], field)}/{UrlSegment.Escape(parts[1], field)}/predictions" : "predictions";

        var system = string.Join("\n\n", request.Messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text).Where(t => t.Length > 0));
        return new ReplicateCreateRequest
        {
            Version = colon < 0 ? null : model,
            Stream = true,
            Input = new ReplicateInput
            {
                Prompt = ToPrompt(request.Messages),
                SystemPrompt = system.Length == 0 ? null : system,
                MaxTokens = o.MaxOutputTokens,
                Temperature = o.Temperature,
                TopP = o.TopP,
                TopK = o.TopK,
                StopSequences = o.StopSequences is { } stop ? string.Join(",", stop) : null,
                PresencePenalty = o.PresencePenalty,
                FrequencyPenalty = o.FrequencyPenalty,
                Seed = o.Seed,
            },
        };
    }

    private static string ToPrompt(IReadOnlyList<ChatMessage> messages)
    {
        var turns = messages.Where(m => m.Role != ChatRole.System).ToList();
        if (turns.Count == 0) throw new ChatRequestException("conversations must hold at least one user turn");
        if (turns.Any(m => m.Parts.Any(p => p.Kind == ChatPartKind.ImageUrl))) throw new ChatRequestException("replicate chat models take no images here");
        if (turns.Any(m => m.Parts.Any(p => p.Kind == ChatPartKind.Audio))) throw new ChatRequestException("replicate does not take audio input");
        if (turns is [{ Role: ChatRole.User } only]) return only.Text;
        var sb = new StringBuilder();
        foreach (var m in turns)
        {
            var text = m.Role == ChatRole.Tool
                ? string.Join("\n", m.Parts.Select(p => $"[{p.Name ?? p.ToolCallId}] {p.Value}"))
                : m.Text;
            sb.Append(m.Role switch { ChatRole.User => "User: ", ChatRole.Assistant => "Assistant: ", _ => "Tool result: " }).Append(text).Append("\n\n");
        }
        return sb.Append("Assistant:").ToString();
    }

    /// <summary>Reads RFC 7807 problem JSON.</summary>
    public static ProviderErrorDescription DescribeError(string body)
    {
        try
        {
            var problem = JsonSerializer.Deserialize(body, ReplicateJsonContext.Default.ReplicateProblem);
            return new ProviderErrorDescription(problem is null ? null : $"{problem.Title}: {problem.Detail}");
        }
        catch (JsonException)
        {
            return default;
        }
    }

    public static TokenUsage? FromMetrics(ReplicateMetrics? m) =>
        m is null || (m.InputTokenCount is null && m.OutputTokenCount is null) ? null : new TokenUsage(m.InputTokenCount, m.OutputTokenCount);
}
