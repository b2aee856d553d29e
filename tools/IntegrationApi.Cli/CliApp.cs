using System.CommandLine;
using System.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using IntegrationApi.Client;
using IntegrationApi.Contracts;
using IntegrationApi.Contracts.Common;

namespace IntegrationApi.Cli;

/// <summary>The exit codes of <c>integration-cli</c> (docs/cli.md).</summary>
public static class ExitCodes
{
    /// <summary>Every request succeeded (for <c>verify</c>: the credential is valid).</summary>
    public const int Ok = 0;
    /// <summary>A request ran and failed (the provider refused it, a terminal with <c>success=false</c>, an invalid credential).</summary>
    public const int RequestFailed = 1;
    /// <summary>The command line is wrong (unknown option, missing value, no prompts, a bad address).</summary>
    public const int Usage = 2;
    /// <summary>The service could not be reached (refused, down, not up within <c>--wait</c>).</summary>
    public const int Unavailable = 3;
    /// <summary>The service refused the caller: missing or wrong <c>--api-key</c>/<c>--jwt</c>, or not permitted.</summary>
    public const int AuthFailed = 4;
}

/// <summary>
/// The CLI as a function of its arguments and its three streams, so tests run it in process: <c>integration-cli</c>
/// (chat, the default command), <c>embed</c>, <c>rerank</c>, <c>verify</c>, <c>audit list</c>.
/// </summary>
public sealed class CliApp
{
    private CliApp() { }

    private readonly Option<string> Address = LastWins<string>(new("--address") { Description = "service address, http:// or https:// (INTEGRATION_API_ADDRESS)", DefaultValueFactory = _ => CliOptions.Env("INTEGRATION_API_ADDRESS") ?? "http://127.0.0.1:9004", Recursive = true });
    private readonly Option<string> Provider = LastWins<string>(new("--provider") { Description = "openai, azure, anthropic, gemini, vertexai, cohere, mistral, replicate (INTEGRATION_API_PROVIDER)", DefaultValueFactory = _ => CliOptions.Env("INTEGRATION_API_PROVIDER") ?? "openai", Recursive = true });
    private readonly Option<string?> Model = LastWins<string?>(new("--model") { Description = "model.name (INTEGRATION_API_MODEL; default per provider)", DefaultValueFactory = _ => CliOptions.Env("INTEGRATION_API_MODEL"), Recursive = true });
    private readonly Option<string?> Key = LastWins<string?>(new("--key") { Description = "the provider credential's \"key\" (PROVIDER_KEY)", DefaultValueFactory = _ => CliOptions.Env("PROVIDER_KEY"), Recursive = true });
    private readonly Option<string[]> Cred = new("--cred") { Description = "a credential field NAME=VALUE (repeatable; VALUE @file reads a file), e.g. subscription_key=… endpoint=… for azure, project_id=… region=… service_account_key=@sa.json for vertexai", HelpName = "NAME=VALUE", Recursive = true };
    private readonly Option<string[]> KeyFor = new("--key-for") { Description = "the key of provider NAME, for --fallback targets on it (repeatable)", HelpName = "NAME=KEY", Recursive = true };
    private readonly Option<string?> ApiKey = LastWins<string?>(new("--api-key") { Description = "project API key sent as x-api-key (INTEGRATION_API_KEY)", DefaultValueFactory = _ => CliOptions.Env("INTEGRATION_API_KEY"), Recursive = true });
    private readonly Option<string?> Jwt = LastWins<string?>(new("--jwt") { Description = "service token sent as x-internal-service-key (INTEGRATION_API_JWT)", DefaultValueFactory = _ => CliOptions.Env("INTEGRATION_API_JWT"), Recursive = true });
    private readonly Option<double> Wait = LastWins<double>(new("--wait") { Description = "retry connecting this many seconds while the service starts", HelpName = "SECONDS", Recursive = true });
    private readonly Option<string?> SystemPrompt = LastWins<string?>(new("--system") { Description = "a system prompt for every request" });
    private readonly Option<double?> Temperature = LastWins<double?>(new("--temperature") { Description = "model.temperature" });
    private readonly Option<int?> MaxTokens = LastWins<int?>(new("--max-tokens") { Description = "model.max_tokens: the most output tokens" });
    private readonly Option<bool> Concurrent = new("--concurrent") { Description = "send every prompt at once (deltas interleave, labelled [n])" };
    private readonly Option<bool> Interactive = new("--interactive", "-i") { Description = "a conversation: each stdin line is sent as it is typed, with the turns before it" };
    private readonly Option<string[]> Fallback = new("--fallback") { Description = "try provider P, model MODEL when the request fails before its first token (repeatable, in order; \":MODEL\" keeps --provider, \"P:\" takes P's default model)", HelpName = "P:MODEL" };
    private readonly Option<uint> HedgeMs = LastWins<uint>(new("--hedge-ms") { Description = "no first token after N ms: start the next --fallback in parallel, first answer wins", HelpName = "N" });
    private readonly Argument<string[]> Prompts = new("prompt") { Description = "prompts (none: one per stdin line, each sent as it is read)", Arity = ArgumentArity.ZeroOrMore };
    private readonly Argument<string[]> Texts = new("text") { Description = "texts (none: one per stdin line)", Arity = ArgumentArity.ZeroOrMore };
    private readonly Argument<string[]> QueryAndDocuments = new("query-and-documents") { Description = "the query, then the documents (none: one per stdin line)", Arity = ArgumentArity.ZeroOrMore };
    private readonly Option<uint> Page = new("--page") { Description = "page number, from 1", DefaultValueFactory = _ => 1 };
    private readonly Option<uint> PageSize = new("--page-size") { Description = "records per page (at most 100)", DefaultValueFactory = _ => 20 };
    private readonly Option<string[]> Filter = new("--filter") { Description = "KEY=VALUE equality filter (provider, model, status, code, finishReason, credentialId; repeatable)", HelpName = "KEY=VALUE" };

    /// <summary>
    /// A single-valued option that may be repeated, the last one winning (as before System.CommandLine: scripts add
    /// <c>--key wrong-key</c> after a default <c>--key</c>). One value per occurrence: <c>--key a b</c> leaves <c>b</c> a prompt.
    /// </summary>
    private static Option<T> LastWins<T>(Option<T> option)
    {
        option.Arity = ArgumentArity.OneOrMore;
        option.AllowMultipleArgumentsPerToken = false;
        option.CustomParser = result =>
        {
            if (result.Tokens.Count == 0) return default!;
            var text = result.Tokens[^1].Value;
            var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
            if (type == typeof(string)) return (T)(object)text;
            var ok = type == typeof(double) ? double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) ? Box(d) : null
                : type == typeof(int) ? int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var i) ? Box(i) : null
                : type == typeof(uint) ? uint.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var u) ? Box(u) : null
                : throw new NotSupportedException(type.Name);
            if (ok is null) { result.AddError($"{option.Name}: \"{text}\" is not a valid {type.Name.ToLowerInvariant()}"); return default!; }
            return (T)ok;
        };
        return option;

        static object Box<TValue>(TValue value) => value!;
    }

    /// <summary>Runs the CLI: parses <paramref name="args"/>, reads prompts from <paramref name="input"/>, writes answers to <paramref name="output"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var root = new CliApp().BuildCommand(input, output, error); // fresh symbols per run: runs may overlap (tests)
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) error.WriteLine(e.Message);
            error.WriteLine("integration-cli --help shows the options");
            return ExitCodes.Usage;
        }
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (CliUsageException ex)
        {
            error.WriteLine(ex.Message);
            return ExitCodes.Usage;
        }
        catch (ArgumentException ex) // an invalid --address, from IntegrationClient.CreateChannel
        {
            error.WriteLine(ex.Message);
            return ExitCodes.Usage;
        }
    }

    private RootCommand BuildCommand(TextReader input, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("integration-cli: send prompts over one StreamChat and print the answers as they stream.")
        {
            Address, Provider, Model, Key, Cred, KeyFor, ApiKey, Jwt, Wait,
            SystemPrompt, Temperature, MaxTokens, Concurrent, Interactive, Fallback, HedgeMs, Prompts,
        };
        Prompts.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
                if (token.Value.StartsWith("--", StringComparison.Ordinal) && token.Value.Length > 2)
                    // Only the name: what follows '=' may be a secret typed with a misspelt option.
                    result.AddError($"unknown option {token.Value.Split('=')[0]} (a prompt that starts with -- goes after a lone --)");
        });
        root.SetAction((r, ct) => WithClientAsync(r, error, (o, c) => ChatCommand.RunAsync(o, c, input, output, error, ct), Prompts));

        var embed = new Command("embed", "one vector per text: index, dimensions, the first numbers") { Texts };
        embed.SetAction((r, ct) => WithClientAsync(r, error, (o, c) => CallCommands.EmbedAsync(o, c, Lines(o, input, 1, "no texts"), output, ct), Texts));
        var rerank = new Command("rerank", "documents best first: index, relevance score, text") { QueryAndDocuments };
        rerank.SetAction((r, ct) => WithClientAsync(r, error, (o, c) => CallCommands.RerankAsync(o, c, Lines(o, input, 2, "need a query and documents"), output, ct), QueryAndDocuments));
        var verify = new Command("verify", "VerifyCredential: checks --key/--cred with --provider (exit 0 valid, 1 invalid)");
        verify.SetAction((r, ct) => WithClientAsync(r, error, (o, c) => CallCommands.VerifyAsync(o, c, output, ct), null));
        var auditList = new Command("list", "GetAllAuditLog: the project's audit records, newest first") { Page, PageSize, Filter };
        auditList.SetAction((r, ct) => WithClientAsync(r, error, (o, c) => CallCommands.AuditListAsync(c, r.GetValue(Page), r.GetValue(PageSize),
            [.. (r.GetValue(Filter) ?? []).Select(f => CliOptions.NameValue("--filter", f, allowFile: false))], output, ct), null));
        var audit = new Command("audit", "the audit-logging RPCs") { auditList };
        root.Add(embed);
        root.Add(rerank);
        root.Add(verify);
        root.Add(audit);
        return root;
    }

    private static List<string> Lines(CliOptions o, TextReader input, int atLeast, string tooFew)
    {
        var texts = o.Prompts;
        if (texts.Count == 0)
            while (input.ReadLine() is { } line)
                if (line.Trim().Length > 0) texts.Add(line.Trim());
        if (texts.Count < atLeast) throw new CliUsageException(tooFew);
        return texts;
    }

    private CliOptions Options(ParseResult r, Argument<string[]>? positional)
    {
        var o = new CliOptions
        {
            Address = r.GetValue(Address)!,
            Provider = r.GetValue(Provider)!,
            Model = r.GetValue(Model),
            ProviderKey = r.GetValue(Key),
            ApiKey = r.GetValue(ApiKey),
            Jwt = r.GetValue(Jwt),
            Wait = TimeSpan.FromSeconds(r.GetValue(Wait)),
            System = r.GetValue(SystemPrompt),
            Temperature = r.GetValue(Temperature),
            MaxTokens = r.GetValue(MaxTokens),
            Concurrent = r.GetValue(Concurrent),
            Interactive = r.GetValue(Interactive),
            HedgeMs = r.GetValue(HedgeMs),
            Prompts = [.. positional is null ? [] : r.GetValue(positional) ?? []],
        };
        foreach (var c in r.GetValue(Cred) ?? []) { var (n, v) = CliOptions.NameValue("--cred", c, allowFile: true); o.CredentialFields[n] = v; }
        foreach (var k in r.GetValue(KeyFor) ?? []) { var (n, v) = CliOptions.NameValue("--key-for", k, allowFile: false); o.KeysFor[n] = v; }
        foreach (var f in r.GetValue(Fallback) ?? [])
        {
            try { o.Fallbacks.Add(ChatTargetSpec.Parse(f)); }
            catch (FormatException ex) { throw new CliUsageException($"--fallback: {ex.Message}"); }
        }
        if (o.HedgeMs > 0 && o.Fallbacks.Count == 0) throw new CliUsageException("--hedge-ms needs at least one --fallback to hedge with");
        if (o.Interactive && o.Concurrent) throw new CliUsageException("--interactive and --concurrent do not go together");
        if (o.Interactive && o.Prompts.Count > 0) throw new CliUsageException("--interactive reads its prompts from stdin, not from arguments");
        return o;
    }

    /// <summary>Parses the options, connects (waiting up to <c>--wait</c>), runs <paramref name="run"/>, and maps call failures to exit codes.</summary>
    private async Task<int> WithClientAsync(ParseResult r, TextWriter error, Func<CliOptions, IntegrationClient, Task<int>> run, Argument<string[]>? positional)
    {
        var o = Options(r, positional);
        var headers = new Grpc.Core.Metadata();
        if (o.Jwt is not null) headers.Add("x-internal-service-key", o.Jwt);
        if (o.ApiKey is not null) headers.Add("x-api-key", o.ApiKey);
        using var channel = IntegrationClient.CreateChannel(o.Address);
        if (o.Wait > TimeSpan.Zero && !await WaitForServiceAsync(channel, o.Wait).ConfigureAwait(false))
        {
            error.WriteLine($"could not connect to {o.Address} within {o.Wait.TotalSeconds:0} s");
            return ExitCodes.Unavailable;
        }
        await using var client = new IntegrationClient(channel, new IntegrationClientOptions { Headers = () => headers });
        try
        {
            return await run(o, client).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            return Report(error, o.Address, ex.Status, "");
        }
    }

    /// <summary>Prints a call failure and returns its exit code: 3 unreachable, 4 refused caller, 1 otherwise.</summary>
    internal static int Report(TextWriter error, string address, Status status, string label)
    {
        var code = ExitCode(status);
        error.WriteLine(code switch
        {
            ExitCodes.Unavailable => $"{label}could not connect to {address}: {status.Detail}",
            ExitCodes.AuthFailed => $"{label}the service refused the caller ({status.StatusCode}: {status.Detail}); check --api-key or --jwt",
            _ => $"{label}call failed: {status.StatusCode} {status.Detail}",
        });
        return code;
    }

    internal static int ExitCode(Status status) => status.StatusCode switch
    {
        StatusCode.Unavailable => ExitCodes.Unavailable,
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => ExitCodes.AuthFailed,
        _ => ExitCodes.RequestFailed,
    };

    private static async Task<bool> WaitForServiceAsync(GrpcChannel channel, TimeSpan limit)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await channel.ConnectAsync(attempt.Token).ConfigureAwait(false);
                return true;
            }
            catch (Exception)
            {
                await Task.Delay(200).ConfigureAwait(false);
            }
        }
        return false;
    }

    internal static Message Text(string role, string text) => new()
    {
        Role = role,
        Contents = { new Content { ContentType = "text", ContentFormat = "raw", Content_ = ByteString.CopyFromUtf8(text) } },
    };

    internal static Any Param(Value value) => Any.Pack(value);
}
