namespace IntegrationApi.Chat;

/// <summary>The request itself is invalid (code 400); the message names the problem and never holds a secret.</summary>
public sealed class ChatRequestException(string message) : Exception(message);
