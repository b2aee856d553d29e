using System.Text.Json;
using IntegrationApi.Testing;

// Starts loopback fakes of OpenAI and Anthropic that answer every prompt by streaming it back word by
// word ("You said: ..."), with a small time to first token and gap, and accept the key "demo-key".
// Prints one line per fake (NAME_BASE_URL=...) and runs until Ctrl+C or SIGTERM.
var ports = args.Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
var openAI = new OpenAIFake { ValidKey = "demo-key", Responder = Echo };
var anthropic = new AnthropicFake { ValidKey = "demo-key", Responder = Echo };
await openAI.StartAsync(ports.ElementAtOrDefault(0));
await anthropic.StartAsync(ports.ElementAtOrDefault(1));
Console.WriteLine($"OPENAI_BASE_URL={openAI.BaseUrl}");
Console.WriteLine($"ANTHROPIC_BASE_URL={anthropic.BaseUrl}");
Console.Out.Flush();

var stop = new TaskCompletionSource();
using var onInt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Stop);
using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Stop);
await stop.Task;
await openAI.DisposeAsync();
await anthropic.DisposeAsync();

void Stop(System.Runtime.InteropServices.PosixSignalContext context)
{
    context.Cancel = true;
    stop.TrySetResult();
}

static FakeScript Echo(RecordedRequest request)
{
    var prompt = LastUserText(request.Json) ?? "nothing";
    var words = ("You said: " + prompt).Split(' ');
    return new FakeScript
    {
        TextChunks = words.Select((w, i) => i == 0 ? w : " " + w).ToArray(),
        InputTokens = prompt.Length / 4 + 8,
        OutputTokens = words.Length,
        TimeToFirstToken = TimeSpan.FromMilliseconds(120),
        ChunkGap = TimeSpan.FromMilliseconds(40),
    };
}

static string? LastUserText(JsonElement? body)
{
    if (body?.TryGetProperty("messages", out var messages) != true) return null;
    string? last = null;
    foreach (var m in messages.EnumerateArray())
    {
        if (m.GetProperty("role").GetString() != "user" || !m.TryGetProperty("content", out var c)) continue;
        last = c.ValueKind == JsonValueKind.String ? c.GetString()
            : string.Concat(c.EnumerateArray().Where(p => p.TryGetProperty("text", out _)).Select(p => p.GetProperty("text").GetString()));
    }
    return last;
}
