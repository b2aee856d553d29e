namespace IntegrationApi.Chat;

/// <summary>A validated, provider-neutral chat request; what every adapter translates from.</summary>
public sealed record ChatRequest(
    IReadOnlyList<ChatMessage> Messages,
    IReadOnlyList<ChatTool> Tools,
    ModelParameters Parameters,
    ProviderCredential Credential)
{
    /// <summary>The model name from <c>model.name</c>, or null when the caller left it to the provider default.</summary>
    public string? Model => Parameters.GetString(ModelParameters.Name);
}
