namespace IntegrationApi.Tests.Infrastructure;

/// <summary>Every await in a test gets a ceiling, so a bug shows up as a failure, never as a hung run.</summary>
public static class TaskTimeoutExtensions
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    public static Task DefaultTimeout(this Task task) => task.WaitAsync(Limit);

    public static Task<T> DefaultTimeout<T>(this Task<T> task) => task.WaitAsync(Limit);
}
