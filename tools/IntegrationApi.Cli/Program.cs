using IntegrationApi.Cli;

// Everything is in CliApp (so tests run the CLI in process); Ctrl+C cancels the requests in flight (CANCEL upstream).
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
try
{
    return await CliApp.RunAsync(args, Console.In, Console.Out, Console.Error, stop.Token);
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    return 130;
}
