using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using IntegrationApi.Cli;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;

namespace IntegrationApi.Tests.Cli;

/// <summary>integration-cli run in process (its entry point) against the real service and the loopback fakes.</summary>
public sealed class CliTests
{
    [Fact]
    public async Task Help_ExitsZero_AndListsTheNewOptions()
    {
        var (code, output, _) = await CliRunner.RunAsync("--help");
        Assert.Equal(ExitCodes.Ok, code);
        foreach (var option in new[] { "--interactive", "--cred", "--temperature", "--max-tokens", "--system", "--fallback", "--hedge-ms", "--key-for", "--concurrent", "--wait", "verify", "audit" })
            Assert.Contains(option, output);
        var version = await CliRunner.RunAsync("--version");
        Assert.Equal(ExitCodes.Ok, version.Code);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Out);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--temperature", "hot", "hi")]
    [InlineData("--hedge-ms", "100", "hi")]
    [InlineData("--cred", "novalue", "hi")]
    [InlineData("--address", "localhost:9004", "hi")]
    [InlineData("--interactive", "--concurrent")]
    public async Task UsageErrors_ExitTwo(params string[] args)
    {
        var (code, _, error) = await CliRunner.RunAsync(args);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("--cred", "sk-SECRET-1234", "hi")]
    [InlineData("--key-for", "anthropic:sk-SECRET-1234", "hi")]
    [InlineData("--apikey=sk-SECRET-1234", "hi")]
    public async Task UsageErrors_NeverEchoASecret(params string[] args)
    {
        var (code, output, error) = await CliRunner.RunAsync(args);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.DoesNotContain("SECRET", output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddressWithoutScheme_IsNamedInTheError()
    {
        var (code, _, error) = await CliRunner.RunAsync("--address", "localhost:9004", "hi");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("\"localhost:9004\" is not an http:// or https:// URL", error);
    }

    [Fact]
    public async Task NoServiceListening_ExitsThree_NamingTheAddress()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // a free port nobody listens on
        var (code, _, error) = await CliRunner.RunAsync("--address", $"http://127.0.0.1:{port}", "--key", "k", "hi");
        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.Contains($"could not connect to http://127.0.0.1:{port}", error);
    }

    [Fact]
    public async Task WrongApiKey_ExitsFour_ProviderRefusal_ExitsOne()
    {
        await using var gateway = await TestGateway.StartAsync();
        var refused = await CliRunner.RunAsync("--address", "http://" + gateway.Channel.Target, "--api-key", "rpd-prj-not-a-key", "--key", "test-key", "hi");
        Assert.Equal(ExitCodes.AuthFailed, refused.Code);
        Assert.Contains("refused the caller", refused.Err);
        Assert.Empty(gateway.OpenAI.Requests);

        var failed = await CliRunner.RunAsync(CliRunner.Against(gateway, "--key", "wrong", "hi"));
        Assert.Equal(ExitCodes.RequestFailed, failed.Code);
        Assert.Contains("failed: code=401", failed.Out);

        var ok = await CliRunner.RunAsync(CliRunner.Against(gateway, "--key", "test-key", "--concurrent", "one", "two"));
        Assert.Equal(ExitCodes.Ok, ok.Code);
        Assert.Contains("[1] done:", ok.Out);
        Assert.Contains("[2] done:", ok.Out);
    }

    [Fact]
    public async Task Interactive_SendsEachLineAsTyped_OnOneStream_KeepingTheConversation()
    {
        await using var gateway = await TestGateway.StartAsync();
        var turn = 0;
        gateway.OpenAI.Responder = _ => new FakeScript { TextChunks = ["answer-", $"{Interlocked.Increment(ref turn)}"] };
        var cli = new CliRunner();
        var run = cli.StartAsync(CliRunner.Against(gateway, "--key", "test-key", "--interactive", "--system", "be brief"));

        cli.Input.Type("first question");
        await cli.Output.WaitForAsync("done:");              // answered while stdin is still open
        Assert.Equal(1, cli.Input.LinesRead);
        Assert.Contains("answer-1", cli.Output.Text);
        Assert.Single(gateway.OpenAI.Requests);

        cli.Input.Type("second question");
        await cli.Output.WaitForAsync("done:", 2);
        cli.Input.End();
        Assert.Equal(ExitCodes.Ok, await run.DefaultTimeout());

        var messages = gateway.OpenAI.Requests[1].Json!.Value.GetProperty("messages").EnumerateArray()
            .Select(m => $"{m.GetProperty("role").GetString()}:{Text(m.GetProperty("content"))}").ToArray();
        Assert.Equal(["system:be brief", "user:first question", "assistant:answer-1", "user:second question"], messages);
        Assert.Contains("answer-2", cli.Output.Text);
    }

    [Fact]
    public async Task StdinPrompts_AreSentAsTheyAreRead_WithoutWaitingForTheEnd()
    {
        await using var gateway = await TestGateway.StartAsync();
        var cli = new CliRunner();
        var run = cli.StartAsync(CliRunner.Against(gateway, "--key", "test-key"));
        cli.Input.Type("hello");
        await cli.Output.WaitForAsync("done:");
        cli.Input.Type("again");
        await cli.Output.WaitForAsync("done:", 2);
        cli.Input.End();
        Assert.Equal(ExitCodes.Ok, await run.DefaultTimeout());
        // Not a conversation: the second request carries only its own prompt.
        Assert.Equal(1, gateway.OpenAI.Requests[1].Json!.Value.GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task Cred_ReachesTheProvider_Azure_WithAtFile()
    {
        await using var gateway = await TestGateway.StartAsync();
        var keyFile = Path.Combine(Path.GetTempPath(), $"cli-azure-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(keyFile, "azure-subscription-secret");
        try
        {
            var (code, output, error) = await CliRunner.RunAsync(CliRunner.Against(gateway, "--provider", "azure", "--model", "my-gpt4o-deployment",
                "--cred", $"subscription_key=@{keyFile}", "--cred", $"endpoint={gateway.Fake("azure").BaseUrl}", "hi"));
            // The fake accepts only its valid key: the refusal proves which key arrived, so check the header itself.
            var sent = Assert.Single(gateway.Fake("azure").Requests);
            Assert.Equal("azure-subscription-secret", sent.Header("api-key"));
            Assert.Equal(ExitCodes.RequestFailed, code);
            Assert.Contains("failed: code=401", output + error);
        }
        finally { File.Delete(keyFile); }

        var ok = await CliRunner.RunAsync(CliRunner.Against(gateway, "--provider", "azure", "--model", "my-gpt4o-deployment",
            "--cred", "subscription_key=test-key", "--cred", $"endpoint={gateway.Fake("azure").BaseUrl}", "hi"));
        Assert.Equal(ExitCodes.Ok, ok.Code);
        Assert.Equal("test-key", gateway.Fake("azure").Requests[^1].Header("api-key"));
    }

    [Fact]
    public async Task TemperatureMaxTokensSystem_ReachTheProvider_LastRepeatWins()
    {
        await using var gateway = await TestGateway.StartAsync();
        // A repeated single-valued option: the last one wins (scripts/demo.sh overrides its default --key so).
        var (code, _, _) = await CliRunner.RunAsync(CliRunner.Against(gateway, "--key", "wrong", "--key", "test-key",
            "--temperature", "0.9", "--temperature", "0.25", "--max-tokens", "77", "--system", "answer in French", "hi"));
        Assert.Equal(ExitCodes.Ok, code);
        var body = Assert.Single(gateway.OpenAI.Requests).Json!.Value;
        Assert.Equal(0.25, body.GetProperty("temperature").GetDouble());
        var max = body.TryGetProperty("max_completion_tokens", out var m) ? m : body.GetProperty("max_tokens");
        Assert.Equal(77, max.GetInt32());
        var first = body.GetProperty("messages")[0];
        Assert.Equal("system", first.GetProperty("role").GetString());
        Assert.Equal("answer in French", Text(first.GetProperty("content")));
    }

    [Fact]
    public async Task Verify_ValidThenInvalidCredential()
    {
        await using var gateway = await TestGateway.StartAsync();
        var valid = await CliRunner.RunAsync(CliRunner.Against(gateway, "verify", "--provider", "openai", "--key", "test-key"));
        Assert.Equal(ExitCodes.Ok, valid.Code);
        Assert.StartsWith("valid:", valid.Out);

        var invalid = await CliRunner.RunAsync(CliRunner.Against(gateway, "verify", "--provider", "openai", "--key", "wrong"));
        Assert.Equal(ExitCodes.RequestFailed, invalid.Code);
        Assert.StartsWith("invalid:", invalid.Out);
    }

    [Fact]
    public async Task AuditList_ShowsTheProjectsRecords_Filtered()
    {
        await using var gateway = await TestGateway.StartAsync();
        Assert.Equal(ExitCodes.Ok, (await CliRunner.RunAsync(CliRunner.Against(gateway, "--key", "test-key", "first"))).Code);
        Assert.Equal(ExitCodes.RequestFailed, (await CliRunner.RunAsync(CliRunner.Against(gateway, "--key", "wrong", "second"))).Code);
        // Records are written off the hot path: wait (bounded) until both are stored (the test API key is org 7, project 8).
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Limit;
        while (await gateway.AuditStore.CountAsync(7, 8, default) < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(20);

        var all = await CliRunner.RunAsync(CliRunner.Against(gateway, "audit", "list"));
        Assert.Equal(ExitCodes.Ok, all.Code);
        Assert.Contains("page 1: 2 of 2 records", all.Out);
        Assert.Equal(2, all.Out.Split('\n').Count(l => l.Contains("\topenai\t", StringComparison.Ordinal)));

        var failed = await CliRunner.RunAsync(CliRunner.Against(gateway, "audit", "list", "--filter", "code=401"));
        Assert.Equal(ExitCodes.Ok, failed.Code);
        Assert.Contains("page 1: 1 of 1 records", failed.Out);
        Assert.Contains("\t401\t", failed.Out);

        var refused = await CliRunner.RunAsync("--address", "http://" + gateway.Channel.Target, "audit", "list");
        Assert.Equal(ExitCodes.AuthFailed, refused.Code);
    }

    private static string Text(JsonElement content) => content.ValueKind == JsonValueKind.String
        ? content.GetString()!
        : string.Concat(content.EnumerateArray().Select(p => p.GetProperty("text").GetString()));
}
