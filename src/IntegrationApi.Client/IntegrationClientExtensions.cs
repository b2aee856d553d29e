using Microsoft.Extensions.AI;

namespace IntegrationApi.Client;

/// <summary>Microsoft.Extensions.AI views of an <see cref="IntegrationClient"/>.</summary>
public static class IntegrationClientExtensions
{
    /// <summary>An <see cref="IChatClient"/> for <paramref name="provider"/> with <paramref name="credential"/> (e.g. <c>["key"] = …</c>) on this client's streams.</summary>
    public static IChatClient AsIChatClient(this IntegrationClient client, string provider, IReadOnlyDictionary<string, string> credential, string? model = null) =>
        new IntegrationChatClient(client ?? throw new ArgumentNullException(nameof(client)), provider, credential, model);
}
