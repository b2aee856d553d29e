using System.Runtime.InteropServices;

namespace IntegrationApi.Audit;

/// <summary>Starts background work on a thread of its own that yields the core to request processing.</summary>
internal static partial class BackgroundThread
{
    /// <summary>
    /// Runs <paramref name="work"/> on a new thread. On Linux the thread's nice value is raised to
    /// <paramref name="nice"/> (allowed unprivileged), so that on a busy core request threads win the CPU over it;
    /// 10 still leaves it about a tenth of a saturated core, enough to keep up with thousands of records a second.
    /// </summary>
    public static Task Run(string name, Action work, int nice = 10)
    {
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            if (OperatingSystem.IsLinux()) { try { _ = SetPriority(0, GetThreadId(), nice); } catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException) { } }
            try { work(); finished.SetResult(); }
            catch (Exception ex) { finished.SetException(ex); }
        })
        { IsBackground = true, Name = name };
        thread.Start();
        return finished.Task;
    }

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
