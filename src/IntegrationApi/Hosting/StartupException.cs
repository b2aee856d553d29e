namespace IntegrationApi.Hosting;

/// <summary>
/// The service cannot start; <see cref="Exception.Message"/> is the one line printed for the operator: the setting or
/// resource at fault and what to do about it.
/// </summary>
public sealed class StartupException(string message, Exception? innerException = null) : Exception(message, innerException);
