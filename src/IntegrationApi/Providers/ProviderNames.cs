namespace IntegrationApi.Providers;

/// <summary>The provider names accepted in <c>ChatRequest.providerName</c> (case-insensitive).</summary>
public static class ProviderNames
{
    public const string OpenAI = "openai";
    public const string Azure = "azure";
    public const string Gemini = "gemini";
    public const string VertexAI = "vertexai";
    public const string Replicate = "replicate";
    public const string Anthropic = "anthropic";
    public const string Cohere = "cohere";
    public const string Mistral = "mistral";

    /// <summary>All eight, in contract order.</summary>
    public static IReadOnlyList<string> All { get; } = [OpenAI, Azure, Gemini, VertexAI, Replicate, Anthropic, Cohere, Mistral];
}
