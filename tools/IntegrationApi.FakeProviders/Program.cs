using System.Text.Json;
using IntegrationApi.Testing;

// Starts loopback fakes of the providers whose credential is a plain key (OpenAI, Anthropic, Gemini,
// Cohere, Mistral, Replicate). Each answers every prompt by streaming it back word by word
// ("You said: ..."), with a small time to first token and gap, and accepts the key "demo-key".
// Prints one line per fake (NAME_BASE_URL=...) and runs until Ctrl+C or SIGTERM.
FakeProviderServer[] fakes =
[
    new OpenAIFake(), new AnthropicFake(), new GeminiFake(), new CohereFake(), new MistralFake(), new ReplicateFake(),
];
string[] names = ["OPENAI", "ANTHROPIC", "GEMINI", "COHERE", "MISTRAL", "REPLICATE"];
for (var i = 0; i < fakes.Length; i++)
{
    fakes[i].ValidKey = "demo-key";
    fakes[i].Responder = Echo;
    await fakes[i].StartAsync();
    Console.WriteLine($"{names[i]}_BASE_URL={fakes[i].BaseUrl}");
}
Console.Out.Flush();

var stop = new TaskCompletionSource();
using var onInt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Stop);
using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Stop);
await stop.Task;
foreach (var fake in fakes) await fake.DisposeAsync();

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

/// <summary>The last user text, in whichever provider's request shape this is.</summary>
static string? LastUserText(JsonElement? body)
{
    if (body is not { } json) return null;
    if (json.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Object && input.TryGetProperty("prompt", out var prompt)) return prompt.GetString(); // Replicate (OpenAI embeddings' input is an array)
    var gemini = json.TryGetProperty("contents", out var turns);
    if (!gemini && !json.TryGetProperty("messages", out turns)) return null;
    string? last = null;
    foreach (var m in turns.EnumerateArray())
    {
        if (m.GetProperty("role").GetString() != "user") continue;
        if (!m.TryGetProperty(gemini ? "parts" : "content", out var c)) continue;
        last = c.ValueKind == JsonValueKind.String ? c.GetString()
            : string.Concat(c.EnumerateArray().Where(p => p.TryGetProperty("text", out _)).Select(p => p.GetProperty("text").GetString()));
    }
    return last;
}
