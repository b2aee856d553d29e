using Grpc.Core;
using IntegrationApi.Providers;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

// Thin gRPC bindings: every service delegates Chat, StreamChat and VerifyCredential to the one
// UnaryChat, StreamChatSessionFactory and CredentialCheck; Embedding, Reranking and GetModeration to CallRpcs (where the provider has them).

internal sealed class OpenAiServiceBinding(UnaryChat chat, StreamChatSessionFactory streams, CredentialCheck credentials, CallRpcs calls) : Proto.OpenAiService.OpenAiServiceBase
{
    public override Task<Proto.EmbeddingResponse> Embedding(Proto.EmbeddingRequest request, ServerCallContext context) =>
        calls.Embedding.RunAsync(request, context, ProviderNames.OpenAI);

    public override Task<Proto.GetModerationResponse> GetModeration(Proto.GetModerationRequest request, ServerCallContext context) =>
        calls.Moderation.RunAsync(request, context, ProviderNames.OpenAI);

    public override Task<Proto.ChatResponse> Chat(Proto.ChatRequest request, ServerCallContext context) =>
        chat.ChatAsync(request, context, ProviderNames.OpenAI);

    public override Task StreamChat(IAsyncStreamReader<Proto.ChatRequest> requestStream, IServerStreamWriter<Proto.ChatResponse> responseStream, ServerCallContext context) =>
        streams.StreamChatAsync(requestStream, responseStream, context, ProviderNames.OpenAI);

    public override Task<Proto.VerifyCredentialResponse> VerifyCredential(Proto.VerifyCredentialRequest request, ServerCallContext context) =>
        credentials.VerifyCredentialAsync(request, context, ProviderNames.OpenAI);
}

internal sealed class AzureServiceBinding(UnaryChat chat, StreamChatSessionFactory streams, CredentialCheck credentials, CallRpcs calls) : Proto.AzureService.AzureServiceBase
{
    public override Task<Proto.EmbeddingResponse> Embedding(Proto.EmbeddingRequest request, ServerCallContext context) =>
        calls.Embedding.RunAsync(request, context, ProviderNames.Azure);

    public override Task<Proto.GetModerationResponse> GetModeration(Proto.GetModerationRequest request, ServerCallContext context) =>
        calls.Moderation.RunAsync(request, context, ProviderNames.Azure);

    public override Task<Proto.ChatResponse> Chat(Proto.ChatRequest request, ServerCallContext context) =>
        chat.ChatAsync(request, context, ProviderNames.Azure);

    public override Task StreamChat(IAsyncStreamReader<Proto.ChatRequest> requestStream, IServerStreamWriter<Proto.ChatResponse> responseStream, ServerCallContext context) =>
        streams.StreamChatAsync(requestStream, responseStream, context, ProviderNames.Azure);

    public override Task<Proto.VerifyCredentialResponse> VerifyCredential(Proto.VerifyCredentialRequest request, ServerCallContext context) =>
        credentials.VerifyCredentialAsync(request, context, ProviderNames.Azure);
}

internal sealed class GeminiServiceBinding(UnaryChat chat, StreamChatSessionFactory streams, CredentialCheck credentials, CallRpcs calls) : Proto.GeminiService.GeminiServiceBase
{
    public override Task<Proto.EmbeddingResponse> Embedding(Proto.EmbeddingRequest request, ServerCallContext context) =>
        calls.Embedding.RunAsync(request, context, ProviderNames.Gemini);

    public override Task<Proto.ChatResponse> Chat(Proto.ChatRequest request, ServerCallContext context) =>
        chat.ChatAsync(request, context, ProviderNames.Gemini);

    public override Task StreamChat(IAsyncStreamReader<Proto.ChatRequest> requestStream, IServerStreamWriter<Proto.ChatResponse> responseStream, ServerCallContext context) =>
        streams.StreamChatAsync(requestStream, responseStream, context, ProviderNames.Gemini);

    public override Task<Proto.VerifyCredentialResponse> VerifyCredential(Proto.VerifyCredentialRequest request, ServerCallContext context) =>
        credentials.VerifyCredentialAsync(request, context, ProviderNames.Gemini);
}

internal sealed class VertexAiServiceBinding(UnaryChat chat, StreamChatSessionFactory streams, CredentialCheck credentials, CallRpcs calls) : Proto.VertexAiService.VertexAiServiceBase
{
    public override Task<Proto.EmbeddingResponse> Embedding(Proto.EmbeddingRequest request, ServerCallContext context) =>
        calls.Embedding.RunAsync(request, context, ProviderNames.VertexAI);

    public override Task<Proto.ChatResponse> Chat(Proto.ChatRequest request, ServerCallContext context) =>
        chat.ChatAsync(request, context, ProviderNames.VertexAI);

    public override Task StreamChat(IAsyncStreamReader<Proto.ChatRequest> requestStream, IServerStreamWriter<Proto.ChatResponse> responseStream, ServerCallContext context) =>
        streams.StreamChatAsync(requestStream, responseStream, context, ProviderNames.VertexAI);

    public override Task<Proto.VerifyCredentialResponse> VerifyCredential(Proto.VerifyCredentialRequest request, ServerCallContext context) =>
        credentials.VerifyCredentialAsync(request, context, ProviderNames.VertexAI);
}

internal sealed class ReplicateServiceBinding(UnaryChat chat, StreamChatSessionFactory streams, CredentialCheck credentials) : Proto.ReplicateService.ReplicateServiceBase
{
    public override Task<Proto.ChatResponse> Chat(Proto.ChatRequest request, ServerCallContext context) =>
        chat.ChatAsync(request, context, ProviderNames.Replicate);

    public override Task StreamChat(IAsyncStreamReader<Proto.ChatRequest> requestStream, IServerStreamWriter<Proto.ChatResponse> responseStream, ServerCallContext context) =>
        streams.StreamChatAsync(requestStream, responseStream, context, ProviderNames.Replicate);

    public override Task<Proto.VerifyCredentialResponse> VerifyCredential(Proto.VerifyCredentialRequest request, ServerCallContext context) =>
        credentials.VerifyCredentialAsync(request, context, ProviderNames.Replicate);
}

internal sealed class AnthropicServiceBinding(UnaryChat chat, StreamChatSessionFactory streams, CredentialCheck credentials) : Proto.AnthropicService.AnthropicServiceBase
{
    public override Task<Proto.ChatResponse> Chat(Proto.ChatRequest request, ServerCallContext context) =>
        chat.ChatAsync(request, context, ProviderNames.Anthropic);

    public override Task StreamChat(IAsyncStreamReader<Proto.ChatRequest> requestStream, IServerStreamWriter<Proto.ChatResponse> responseStream, ServerCallContext context) =>
        streams.StreamChatAsync(requestStream, responseStream, context, ProviderNames.Anthropic);

    public override Task<Proto.VerifyCredentialResponse> VerifyCredential(Proto.VerifyCredentialRequest request, ServerCallContext context) =>
        credentials.VerifyCredentialAsync(request, context, ProviderNames.Anthropic);
}

internal sealed class CohereServiceBinding(UnaryChat chat, StreamChatSessionFactory streams, CredentialCheck credentials, CallRpcs calls) : Proto.CohereService.CohereServiceBase
{
    public override Task<Proto.EmbeddingResponse> Embedding(Proto.EmbeddingRequest request, ServerCallContext context) =>
        calls.Embedding.RunAsync(request, context, ProviderNames.Cohere);

    public override Task<Proto.RerankingResponse> Reranking(Proto.RerankingRequest request, ServerCallContext context) =>
        calls.Reranking.RunAsync(request, context, ProviderNames.Cohere);

    public override Task<Proto.ChatResponse> Chat(Proto.ChatRequest request, ServerCallContext context) =>
        chat.ChatAsync(request, context, ProviderNames.Cohere);

    public override Task StreamChat(IAsyncStreamReader<Proto.ChatRequest> requestStream, IServerStreamWriter<Proto.ChatResponse> responseStream, ServerCallContext context) =>
        streams.StreamChatAsync(requestStream, responseStream, context, ProviderNames.Cohere);

    public override Task<Proto.VerifyCredentialResponse> VerifyCredential(Proto.VerifyCredentialRequest request, ServerCallContext context) =>
        credentials.VerifyCredentialAsync(request, context, ProviderNames.Cohere);
}

internal sealed class MistralServiceBinding(UnaryChat chat, StreamChatSessionFactory streams, CredentialCheck credentials, CallRpcs calls) : Proto.MistralService.MistralServiceBase
{
    public override Task<Proto.EmbeddingResponse> Embedding(Proto.EmbeddingRequest request, ServerCallContext context) =>
        calls.Embedding.RunAsync(request, context, ProviderNames.Mistral);

    public override Task<Proto.ChatResponse> Chat(Proto.ChatRequest request, ServerCallContext context) =>
        chat.ChatAsync(request, context, ProviderNames.Mistral);

    public override Task StreamChat(IAsyncStreamReader<Proto.ChatRequest> requestStream, IServerStreamWriter<Proto.ChatResponse> responseStream, ServerCallContext context) =>
        streams.StreamChatAsync(requestStream, responseStream, context, ProviderNames.Mistral);

    public override Task<Proto.VerifyCredentialResponse> VerifyCredential(Proto.VerifyCredentialRequest request, ServerCallContext context) =>
        credentials.VerifyCredentialAsync(request, context, ProviderNames.Mistral);
}

/// <summary>One front door: <c>ChatRequest.providerName</c> picks the provider per request.</summary>
internal sealed class LlmServiceBinding(UnaryChat chat, StreamChatSessionFactory streams, CallRpcs calls) : Proto.LlmService.LlmServiceBase
{
    public override Task<Proto.EmbeddingResponse> Embedding(Proto.EmbeddingRequest request, ServerCallContext context) =>
        calls.Embedding.RunAsync(request, context, serviceProvider: null);

    public override Task<Proto.RerankingResponse> Reranking(Proto.RerankingRequest request, ServerCallContext context) =>
        calls.Reranking.RunAsync(request, context, serviceProvider: null);

    public override Task<Proto.GetModerationResponse> GetModeration(Proto.GetModerationRequest request, ServerCallContext context) =>
        calls.Moderation.RunAsync(request, context, serviceProvider: null);

    public override Task<Proto.ChatResponse> Chat(Proto.ChatRequest request, ServerCallContext context) =>
        chat.ChatAsync(request, context, serviceProvider: null);

    public override Task StreamChat(IAsyncStreamReader<Proto.ChatRequest> requestStream, IServerStreamWriter<Proto.ChatResponse> responseStream, ServerCallContext context) =>
        streams.StreamChatAsync(requestStream, responseStream, context, serviceProvider: null);
}

/// <summary>The non-chat RPCs, one parameter for the bindings.</summary>
internal sealed record CallRpcs(EmbeddingApi Embedding, RerankingApi Reranking, ModerationApi Moderation);
