using System.Text;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Api;
using IntegrationApi.Auth;
using IntegrationApi.Chat;
using IntegrationApi.Providers;
using IntegrationApi.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.MicroBench;

public class ChunkBenchmarks
{
    public static readonly string[] Providers = ["openai", "mistral", "anthropic", "gemini", "cohere"];

    [ParamsSource(nameof(ProviderNames))] public string Provider { get; set; } = "openai";
    [Params(1, 257)] public int Chunks { get; set; }
    public static IEnumerable<string> ProviderNames => Providers;

    private WebApplication? _replay;
    private WebApplication? _app;
    private IChatProvider? _provider;
    private ChatRequest? _request;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        FakeProviderServer fake = Provider switch
        {
            "openai" => new OpenAIFake(),
            "mistral" => new MistralFake(),
            "anthropic" => new AnthropicFake(),
            "gemini" => new GeminiFake(),
            "cohere" => new CohereFake(),
            _ => throw new ArgumentException(Provider),
        };
        var script = new FakeScript
        {
            TextChunks = Enumerable.Range(0, Chunks).Select(i => i == 0 ? "Hello" : $" token{i}").ToArray(),
            InputTokens = 12, OutputTokens = Chunks,
        };
        var body = Encoding.UTF8.GetBytes(fake.RenderStream(script, """{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"""));
        await fake.DisposeAsync();

        (_replay, var address) = await LoopbackApp.StartAsync(async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            context.Response.ContentType = "text/event-stream";
            await context.Response.Body.WriteAsync(body);
        });

        _app = IntegrationApiApp.Create(["--environment", "Production"], b =>
        {
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Providers:OpenAI:BaseUrl"] = address + "/v1",
                ["Providers:Mistral:BaseUrl"] = address + "/v1",
                ["Providers:Anthropic:BaseUrl"] = address + "/v1",
                ["Providers:Gemini:BaseUrl"] = address + "/v1beta",
                ["Providers:Cohere:BaseUrl"] = address + "/v2",
                ["Audit:Enabled"] = "false",
                ["Auth:ApiKeys:0:Sha256"] = CallerAuthenticator.HashKey("k"),
                ["Auth:ApiKeys:0:OrganizationId"] = "1",
                ["Auth:ApiKeys:0:ProjectId"] = "1",
            });
            b.Logging.ClearProviders();
        });
        var proto = new Proto.ChatRequest
        {
            ProviderName = Provider,
            Credential = new Proto.Credential { Value = new Struct { Fields = { ["key"] = Value.ForString("test-key") } } },
            Conversations = { new Contracts.Common.Message { Role = "user", Contents = { new Contracts.Common.Content { ContentType = "text", Content_ = ByteString.CopyFromUtf8("hi") } } } },
        };
        proto.ModelParameters["model.name"] = Any.Pack(Value.ForString("m"));
        var prepared = _app.Services.GetRequiredService<ChatRouting>().Prepare(proto, null);
        (_provider, _request) = (prepared.Targets[0].Provider, prepared.Targets[0].Request);
        if (await StreamAsync() < Chunks) throw new InvalidOperationException($"{Provider}: fewer updates than chunks");
    }

    [Benchmark]
    public async Task<int> StreamAsync()
    {
        var n = 0;
        await foreach (var update in _provider!.GetStreamingResponseAsync(_request!, CancellationToken.None))
            if (update.Kind == ChatUpdateKind.Text) n++;
        return n;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        if (_replay is not null) { await _replay.StopAsync(); await _replay.DisposeAsync(); }
    }
}

[MemoryDiagnoser]
public class DeltaBenchmarks
{
    private readonly byte[] _buffer = new byte[4096];

    /// <summary>One text delta as the session sends it: the response message, then its protobuf encoding.</summary>
    [Benchmark]
    public int DeltaMessageAndEncode()
    {
        var response = ProtoMapping.Delta(123456789, "client-7", " token");
        var output = new CodedOutputStream(_buffer);
        response.WriteTo(output);
        return (int)output.Position;
    }
}
