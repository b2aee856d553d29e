using System.Diagnostics;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using IntegrationApi.Client;
using IntegrationApi.Contracts;
using IntegrationApi.Contracts.Common;

namespace IntegrationApi.Cli;

/// <summary>
/// The default command: every prompt goes over the client's persistent <c>StreamChat</c>. Prompts given as
/// arguments run one after the other (or all at once with <c>--concurrent</c>); prompts from stdin are sent
/// as each line is read, never after reading to the end; <c>--interactive</c> keeps the conversation (each
/// request carries the user and assistant turns before it).
/// </summary>
internal static class ChatCommand
{
    public static async Task<int> RunAsync(CliOptions o, IntegrationClient client, TextReader input, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var gate = new Lock();
        var worst = ExitCodes.Ok;
        void Record(int code) { lock (gate) worst = Math.Max(worst, code); }

        if (o.Prompts.Count > 0)
        {
            if (o.Concurrent)
                foreach (var code in await Task.WhenAll(o.Prompts.Select((p, i) => SendAsync(o, client, [], p, $"[{i + 1}] ", output, error, gate, ct))).ConfigureAwait(false))
                    Record(code.Code);
            else
                foreach (var p in o.Prompts) Record((await SendAsync(o, client, [], p, "", output, error, gate, ct).ConfigureAwait(false)).Code);
            return worst;
        }

        var history = new List<Message>();
        var running = new List<Task<int>>();
        var sent = 0;
        while (await input.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            var prompt = line.Trim();
            if (prompt.Length == 0) continue;
            sent++;
            if (o.Concurrent)
            {
                running.Add(SendAsync(o, client, [], prompt, $"[{sent}] ", output, error, gate, ct).ContinueWith(t => t.Result.Code, ct, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
                continue;
            }
            var (code, answer) = await SendAsync(o, client, o.Interactive ? history : [], prompt, "", output, error, gate, ct).ConfigureAwait(false);
            Record(code);
            if (o.Interactive && code == ExitCodes.Ok)
            {
                history.Add(CliApp.Text("user", prompt));
                history.Add(CliApp.Text("assistant", answer));
            }
        }
        foreach (var code in await Task.WhenAll(running).ConfigureAwait(false)) Record(code);
        if (sent == 0) throw new CliUsageException("no prompts (give them as arguments or one per stdin line)");
        return worst;
    }

    private static async Task<(int Code, string Answer)> SendAsync(CliOptions o, IntegrationClient client, IReadOnlyList<Message> history, string prompt, string label,
        TextWriter output, TextWriter error, Lock gate, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        long firstDelta = 0;
        var answer = new StringBuilder();
        try
        {
            await foreach (var response in client.StreamAsync(Request(o, history, prompt), ct).ConfigureAwait(false))
            {
                var text = string.Concat(response.Data?.Contents.Select(c => c.Content_.ToStringUtf8()) ?? []);
                lock (gate)
                {
                    if (response.FinishReason.Length == 0)
                    {
                        if (firstDelta == 0) firstDelta = Stopwatch.GetTimestamp();
                        answer.Append(text);
                        if (label.Length > 0) output.WriteLine(label + text); else output.Write(text);
                        output.Flush();
                        continue;
                    }
                    if (answer.Length == 0) answer.Append(text);
                    if (label.Length == 0) output.WriteLine();
                    output.WriteLine(label + Summary(response, started, firstDelta));
                    output.Flush();
                    return (response.Success ? ExitCodes.Ok : ExitCodes.RequestFailed, answer.ToString());
                }
            }
        }
        catch (RpcException ex)
        {
            lock (gate) return (CliApp.Report(error, o.Address, ex.Status, label), "");
        }
        catch (IntegrationStreamException ex)
        {
            lock (gate) return (CliApp.Report(error, o.Address, ex.Status, label), "");
        }
        return (ExitCodes.RequestFailed, "");
    }

    public static ChatRequest Request(CliOptions o, IReadOnlyList<Message> history, string prompt)
    {
        var request = new ChatRequest { ProviderName = o.Provider, Credential = o.Credential() };
        if (o.System is not null) request.Conversations.Add(CliApp.Text("system", o.System));
        request.Conversations.Add(history);
        request.Conversations.Add(CliApp.Text("user", prompt));
        request.ModelParameters["model.name"] = CliApp.Param(Value.ForString(o.Model ?? CliOptions.DefaultModel(o.Provider)));
        if (o.Temperature is { } t) request.ModelParameters["model.temperature"] = CliApp.Param(Value.ForNumber(t));
        if (o.MaxTokens is { } max) request.ModelParameters["model.max_tokens"] = CliApp.Param(Value.ForNumber(max));
        foreach (var target in o.Fallbacks)
        {
            // "P:" on another provider takes P's default model rather than inheriting a model P does not have.
            var other = target.Provider is { } p && !p.Equals(o.Provider, StringComparison.OrdinalIgnoreCase);
            var model = target.Model ?? (other ? CliOptions.DefaultModel(target.Provider!) : null);
            var key = o.FallbackKey(target);
            request.WithFallback(target with { Model = model, Credential = key is null ? null : new Dictionary<string, string> { ["key"] = key } });
        }
        if (o.HedgeMs > 0) request.HedgeAfterMs = o.HedgeMs;
        return request;
    }

    private static string Summary(ChatResponse r, long started, long firstDelta)
    {
        string M(string name) => r.GetMetric(name) ?? "-";
        var ttft = firstDelta > 0 ? $"{Stopwatch.GetElapsedTime(started, firstDelta).TotalMilliseconds:0.0} ms" : "-";
        var total = $"{Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.0} ms";
        // Which target served it (or, on a failure, the last that ran) and how many ran.
        var served = r.GetServedBy() is { } s ? $" {(r.Success ? "served" : "last")}={s.Provider}/{s.Model} attempts={s.Attempts}" : "";
        return r.Success
            ? $"done: finish={r.FinishReason}{served} tokens in={M(MetricNames.InputTokens)} out={M(MetricNames.OutputTokens)} total={M(MetricNames.TotalTokens)} ttft={ttft} time={total}" +
              (r.Data.ToolCalls.Count > 0 ? $" tool_calls={string.Join(",", r.Data.ToolCalls.Select(c => c.Function.Name + c.Function.Arguments))}" : "")
            : $"failed: code={r.Code} finish={r.FinishReason}{served} {r.Error?.ErrorMessage}";
    }
}
