namespace IntegrationApi.Chat;

/// <summary>A validated, provider-neutral chat request; what every adapter translates from.</summary>
public sealed record ChatRequest(
    IReadOnlyList<ChatMessage> Messages,
    IReadOnlyList<ChatTool> Tools,
    ChatOptions Options,
    ProviderCredential Credential)
{
    /// <summary>The model name (<c>model.name</c>, required at the edge).</summary>
    public string Model => Options.ModelId;
}
