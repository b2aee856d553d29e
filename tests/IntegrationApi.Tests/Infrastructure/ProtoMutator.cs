using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Contracts.Common;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Infrastructure;

/// <summary>
/// One fuzzed <c>ChatRequest</c>: the request, what was done to it, and which terminal codes the contract
/// allows for it. A request that may still be valid may pass (200) or be refused (400); one the contract says
/// is bad (unknown role, no credential, unknown action, ...) must be refused with 400. Extra codes are allowed
/// only where a mutation justifies them (401 for a tampered credential, 404 for a strange model name, ...).
/// </summary>
public sealed class Mutant(int index, string provider, Proto.ChatRequest request)
{
    public int Index { get; } = index;
    public string Provider { get; } = provider;
    public Proto.ChatRequest Request { get; } = request;
    public List<string> Notes { get; } = [];
    /// <summary>Codes a mutation justifies besides 200/400.</summary>
    public HashSet<int> Extra { get; } = [];
    /// <summary>The contract says this request is bad: 400, never 200.</summary>
    public bool MustReject { get; set; }
    /// <summary>The default protobuf parser (what the server's marshaller uses) cannot read it back, e.g. nesting past the recursion limit.</summary>
    public bool Undecodable { get; set; }
    /// <summary>A known-good request that must succeed.</summary>
    public bool IsControl { get; init; }

    public bool IsCancel => Request.Action == Proto.ChatAction.Cancel;
    public string Id => Request.ClientRequestId;

    public IReadOnlySet<int> Allowed =>
        IsControl ? new HashSet<int> { 200 }
        : MustReject ? new HashSet<int>(Extra.Where(c => c is 409 or 413 or 499)) { 400 }
        : new HashSet<int>(Extra) { 200, 400 };

    public string Describe() =>
        $"#{Index} [{Provider}] id=\"{ProtoMutator.Show(Id, 24)}\" {(IsControl ? "known-good control" : string.Join("; ", Notes))}" +
        (IsCancel ? "" : $" (allowed {string.Join("/", Allowed.Order())})");
}

/// <summary>
/// Seeded mutations of valid <c>ChatRequest</c>s (contract §3.6: bad input is a 400 terminal, never a dead
/// stream). Each mutant touches one to three independent areas (parameters, model name, credential, turns,
/// tools, action, id, provider name, additional data, unknown fields), so the expectation of one area is never
/// undone by another.
/// </summary>
public sealed class ProtoMutator(Random rng, Func<string, string, string, Proto.ChatRequest> newValid, IReadOnlyList<string> providers, bool llmService)
{
    /// <summary>The weather tool with its parameters nested <paramref name="depth"/> levels through array <c>items</c>.</summary>
    public static Proto.ToolDefinition DeepTool(int depth)
    {
        var tool = TestRequests.WeatherTool();
        var p = tool.FunctionDefinition.Parameters;
        for (var i = 0; i < depth; i++)
        {
            var inner = new Proto.FunctionParameter { Type = "object" };
            p.Properties["p"] = new Proto.FunctionParameterProperty { Type = "array", Items = inner };
            p = inner;
        }
        return tool;
    }

    private static readonly string[] ParamKeys =
    [
        "model.temperature", "model.max_completion_tokens", "model.max_tokens", "model.top_p", "model.top_k", "model.stop",
        "model.tool_choice", "model.response_format", "model.seed", "model.user", "model.metadata", "model.thinking",
        "model.reasoning_effort", "model.frequency_penalty", "model.include_reasoning", "x.fuzz", "", "model.\u0000",
    ];

    private static readonly string[] WrapperUrls =
    [
        "type.googleapis.com/google.protobuf.Value", "type.googleapis.com/google.protobuf.Struct", "type.googleapis.com/google.protobuf.ListValue",
        "type.googleapis.com/google.protobuf.StringValue", "type.googleapis.com/google.protobuf.DoubleValue", "type.googleapis.com/google.protobuf.Int64Value",
        "type.googleapis.com/google.protobuf.BoolValue", "type.googleapis.com/google.protobuf.BytesValue",
    ];

    private static readonly string[] UnknownUrls =
    [
        "type.googleapis.com/fuzz.DoesNotExist", "", "garbage", "/", "type.googleapis.com/", "type.googleapis.com/google.protobuf.Duration",
        "type.googleapis.com/google.protobuf.Timestamp", "http://evil.example.com/google.protobuf.Value.x",
    ];

    private static readonly string[] UnknownRoles = ["wizard", "", "usr", "user\u0000", "\U0001F916", "system ", "assistant_x", "\n", "functionn"];

    /// <summary>A valid request for a random provider, mutated in 1–3 areas; <paramref name="id"/> tags it.</summary>
    public Mutant Next(int index, string id)
    {
        var provider = providers[rng.Next(providers.Count)];
        var request = newValid(provider, $"fuzz {index}", id);
        if (llmService) request.ProviderName = provider;
        var m = new Mutant(index, provider, request);
        var areas = new List<Func<Mutant, bool>>
        {
            Parameter, Parameter, ModelName, Credential, Turns, Turns, Tools, Action, ClientId, ProviderName, AdditionalData, UnknownFields, AnyGarbage,
        };
        var wanted = 1 + rng.Next(3);
        var used = new HashSet<Func<Mutant, bool>>();
        for (var tries = 0; used.Count < wanted && tries < 20; tries++)
        {
            var area = areas[rng.Next(areas.Count)];
            if (used.Contains(area)) continue;
            if (area(m)) used.Add(area);
        }
        try { Proto.ChatRequest.Parser.ParseFrom(m.Request.ToByteArray()); }
        catch (InvalidProtocolBufferException) { m.Undecodable = true; }
        return m;
    }

    /// <summary>A known-good request.</summary>
    public Mutant Control(int index, string id)
    {
        var provider = providers[rng.Next(providers.Count)];
        var request = newValid(provider, "control", id);
        if (llmService) request.ProviderName = provider;
        return new Mutant(index, provider, request) { IsControl = true };
    }

    // ---- areas ---------------------------------------------------------------------------------------------

    private bool Parameter(Mutant m)
    {
        var key = ParamKeys[rng.Next(ParamKeys.Length)];
        var value = WeirdValue(200, out var what);
        m.Request.ModelParameters[key] = Any.Pack(value);
        m.Notes.Add($"modelParameters[\"{Show(key)}\"] = {what}");
        return true;
    }

    private bool AnyGarbage(Mutant m)
    {
        var key = rng.Next(2) == 0 ? "model.temperature" : ParamKeys[rng.Next(ParamKeys.Length)];
        var garbage = RandomBytes(rng.Next(0, 48));
        if (rng.Next(2) == 0)
        {
            var url = UnknownUrls[rng.Next(UnknownUrls.Length)];
            m.Request.ModelParameters[key] = new Any { TypeUrl = url, Value = ByteString.CopyFrom(garbage) };
            m.Notes.Add($"modelParameters[\"{Show(key)}\"] = Any(type \"{Show(url)}\", {garbage.Length} random bytes)");
            m.MustReject = true; // an unparseable model parameter (§3.6)
        }
        else
        {
            var url = WrapperUrls[rng.Next(WrapperUrls.Length)];
            m.Request.ModelParameters[key] = new Any { TypeUrl = url, Value = ByteString.CopyFrom(garbage) };
            m.Notes.Add($"modelParameters[\"{Show(key)}\"] = Any(type \"{url[20..]}\", {garbage.Length} random bytes)"); // may happen to parse
        }
        return true;
    }

    private bool ModelName(Mutant m)
    {
        Value value;
        string what;
        switch (rng.Next(12))
        {
            case 0: value = Value.ForNumber(rng.Next(2) == 0 ? 42 : double.NaN); what = $"number {value.NumberValue}"; break;
            case 1: value = Value.ForStruct(new Struct { Fields = { ["name"] = Value.ForString("gpt-4o") } }); what = "struct"; break;
            case 2: value = Value.ForList(Value.ForString("gpt-4o"), Value.ForString("x")); what = "list"; break;
            case 3: value = Value.ForBool(rng.Next(2) == 0); what = "bool"; break;
            case 4: value = Value.ForString(""); what = "\"\""; break;
            case 5: value = Value.ForString(new string('m', 1000 + rng.Next(20_000))); what = $"string of {value.StringValue.Length} chars"; break;
            case 6: value = new Value(); what = "Value(no kind)"; break;
            case 7: value = Value.ForNull(); what = "null"; break;
            default:
                string[] names = ["..", "../../etc/passwd", "a/b", "gpt-4o\n", "gpt\u0000-4o", "%2e%2e%2f", "gpt-4o?x=1#y", "http://evil.example.com/m", " ", "\\..\\x", "m:streamGenerateContent", "🤖"];
                value = Value.ForString(names[rng.Next(names.Length)]);
                what = $"\"{Show(value.StringValue)}\"";
                break;
        }
        m.Request.ModelParameters["model.name"] = Any.Pack(value);
        m.Notes.Add($"model.name = {what}");
        m.Extra.Add(404); // the provider may not know such a model
        return true;
    }

    private bool Credential(Mutant m)
    {
        var fields = m.Request.Credential.Value.Fields;
        var secretKey = m.Provider switch { "azure" => "subscription_key", "vertexai" => "service_account_key", _ => "key" };
        switch (rng.Next(7))
        {
            case 0:
            {
                var value = WeirdValue(200, out var what);
                var name = rng.Next(3) == 0 ? "" : "extra" + rng.Next(100);
                fields[name] = value;
                m.Notes.Add($"credential.value[\"{name}\"] = {what}");
                return true;
            }
            case 1:
            case 2:
            {
                var value = WeirdValue(200, out var what);
                fields[secretKey] = value;
                m.Notes.Add($"credential.value[\"{secretKey}\"] = {what}");
                m.Extra.Add(401); // the provider rejects what it got as a key
                if (value.KindCase == Value.KindOneofCase.StringValue && value.StringValue.Length > 10_000) m.Extra.Add(413); // a 100 kB header
                return true;
            }
            case 3:
                m.Request.Credential = null;
                m.Notes.Add("no credential");
                m.MustReject = true;
                return true;
            case 4:
                fields.Clear();
                m.Notes.Add("credential.value = {}");
                m.MustReject = true;
                return true;
            case 5:
                fields.Remove(secretKey);
                m.Notes.Add($"credential.value without \"{secretKey}\"");
                m.Extra.Add(401);
                return true;
            default:
                if (m.Provider != "azure") goto case 0;
                string[] endpoints = ["https://evil.example.com", "ftp://evil.example.com", "not a url", "http://[::1", "https://user:pw@evil.example.com/", "file:///etc/passwd"];
                var endpoint = endpoints[rng.Next(endpoints.Length)];
                fields["endpoint"] = Value.ForString(endpoint);
                m.Notes.Add($"credential.value[\"endpoint\"] = \"{endpoint}\"");
                m.MustReject = true; // not on the allow-list (contract §7)
                return true;
        }
    }

    private bool Turns(Mutant m)
    {
        var conversations = m.Request.Conversations;
        switch (rng.Next(12))
        {
            case 0:
                conversations.Clear();
                m.Notes.Add("conversations = []");
                m.MustReject = true;
                return true;
            case 1:
            {
                var role = UnknownRoles[rng.Next(UnknownRoles.Length)];
                conversations.Insert(rng.Next(conversations.Count + 1), TestRequests.Message(role, "who am I"));
                m.Notes.Add($"a turn with role \"{Show(role)}\"");
                m.MustReject = true;
                return true;
            }
            case 2:
            {
                var n = 2_000 + rng.Next(9_000);
                var role = rng.Next(2) == 0 ? "user" : "assistant";
                conversations.Clear();
                for (var i = 0; i < n; i++) conversations.Add(TestRequests.Message(role, "t" + i));
                if (role == "assistant") conversations.Add(TestRequests.Message("user", "and now?"));
                m.Notes.Add($"{n} consecutive \"{role}\" turns");
                m.Extra.Add(413);
                return true;
            }
            case 3:
            {
                var size = rng.Next(3) == 0 ? 256 * 1024 + rng.Next(1024 * 1024) : rng.Next(70_000);
                conversations[0].Contents[0].Content_ = ByteString.CopyFromUtf8(new string('z', size));
                m.Notes.Add($"content of {size} bytes");
                m.Extra.Add(413);
                return true;
            }
            case 4:
            {
                var bytes = InvalidUtf8(1 + rng.Next(40));
                conversations[0].Contents[0].Content_ = ByteString.CopyFrom(bytes);
                m.Notes.Add($"content is invalid UTF-8 ({Convert.ToHexString(bytes.AsSpan(0, Math.Min(8, bytes.Length)))}…)");
                m.MustReject = true;
                return true;
            }
            case 5:
                conversations[0].Contents.Clear();
                m.Notes.Add("a turn with no contents");
                return true;
            case 6:
            {
                string[] types = ["image", "audio", "multi", "video", "TEXT", "\u0000", new string('t', 3000)];
                var type = types[rng.Next(types.Length)];
                conversations[0].Contents[0].ContentType = type;
                conversations[0].Contents[0].ContentFormat = rng.Next(2) == 0 ? "url" : "raw";
                m.Notes.Add($"contentType \"{Show(type)}\" format {conversations[0].Contents[0].ContentFormat}");
                return true;
            }
            case 7:
            {
                var value = WeirdValue(200, out var what);
                conversations[0].Contents[0].Meta = new Struct { Fields = { ["m"] = value } };
                m.Notes.Add($"content.meta[\"m\"] = {what}");
                return true;
            }
            case 8:
            {
                // An assistant turn with tool calls whose arguments are not a JSON object, then the tool results.
                string[] args = ["[1,2]", "42", "\"text\"", "null", "not json", "", "{", "{\"a\":" + new string('[', 500), "\u0000", "{\"a\":NaN}"];
                var arg = args[rng.Next(args.Length)];
                var call = new ToolCall { Id = "call_1", Type = "function", Function = new FunctionCall { Name = "get_weather", Arguments = arg } };
                var assistant = new Message { Role = "assistant", ToolCalls = { call } };
                var result = new Message { Role = "tool", Contents = { new Content { ContentType = "call_1", Content_ = ByteString.CopyFromUtf8("sunny") } } };
                conversations.Add(assistant);
                conversations.Add(result);
                m.Notes.Add($"toolCalls[0].arguments = \"{Show(arg, 20)}\"");
                return true;
            }
            case 9:
            {
                var call = new ToolCall { Id = rng.Next(2) == 0 ? "" : "call_1", Type = "function", Function = rng.Next(2) == 0 ? null : new FunctionCall { Name = "", Arguments = "{}" } };
                conversations.Add(new Message { Role = "assistant", ToolCalls = { call } });
                conversations.Add(TestRequests.Message("user", "go on"));
                m.Notes.Add($"toolCall with id \"{call.Id}\" and {(call.Function is null ? "no function" : "an empty function name")}");
                m.MustReject = true;
                return true;
            }
            case 10:
            {
                var n = 1 + rng.Next(40);
                string[] roles = ["system", "user", "assistant", "developer", "model", "USER"];
                conversations.Clear();
                for (var i = 0; i < n; i++) conversations.Add(TestRequests.Message(roles[rng.Next(roles.Length)], "r" + i));
                m.Notes.Add($"{n} turns of random known roles");
                return true;
            }
            default:
            {
                var n = 100 + rng.Next(2000);
                for (var i = 0; i < n; i++) conversations[0].Contents.Add(new Content { ContentType = "text", Content_ = ByteString.CopyFromUtf8("c") });
                m.Notes.Add($"a turn with {n + 1} contents");
                return true;
            }
        }
    }

    private bool Tools(Mutant m)
    {
        var tools = m.Request.ToolDefinitions;
        switch (rng.Next(6))
        {
            case 0:
            {
                var depth = 1 + rng.Next(60);
                tools.Add(DeepTool(depth));
                m.Notes.Add($"tool parameters nested {depth} levels through items");
                return true;
            }
            case 1:
            {
                var tool = TestRequests.WeatherTool();
                if (rng.Next(2) == 0) tool.FunctionDefinition.Name = "";
                else tool.FunctionDefinition = null;
                tools.Add(tool);
                m.Notes.Add(tool.FunctionDefinition is null ? "tool with no functionDefinition" : "tool with an empty name");
                m.MustReject = true;
                return true;
            }
            case 2:
            {
                string[] types = ["retrieval", "", "FUNCTION", "\u0000", "code_interpreter"];
                var tool = TestRequests.WeatherTool();
                tool.Type = types[rng.Next(types.Length)];
                tools.Add(tool);
                m.Notes.Add($"tool type \"{Show(tool.Type)}\"");
                return true;
            }
            case 3:
            {
                var n = 50 + rng.Next(500);
                for (var i = 0; i < n; i++)
                {
                    var tool = TestRequests.WeatherTool();
                    tool.FunctionDefinition.Name = "t" + (rng.Next(4) == 0 ? 0 : i); // some duplicates
                    tools.Add(tool);
                }
                m.Notes.Add($"{n} tools, some with duplicate names");
                return true;
            }
            case 4:
            {
                var tool = TestRequests.WeatherTool();
                string[] names = ["", "\u0000", "a b", new string('p', 5000), "$ref", "__proto__"];
                var name = names[rng.Next(names.Length)];
                tool.FunctionDefinition.Parameters.Properties[name] = new Proto.FunctionParameterProperty { Type = "\u0000", Enum = { Enumerable.Range(0, rng.Next(2000)).Select(i => "e" + i) } };
                tool.FunctionDefinition.Parameters.Required.Add("missing");
                tools.Add(tool);
                m.Notes.Add($"tool property named \"{Show(name, 12)}\" with a big enum");
                return true;
            }
            default:
            {
                var tool = TestRequests.WeatherTool();
                tool.FunctionDefinition.Parameters = null;
                tool.FunctionDefinition.Name = new string('f', 1 + rng.Next(3000));
                tools.Add(tool);
                m.Notes.Add($"tool with no parameters and a {tool.FunctionDefinition.Name.Length}-char name");
                return true;
            }
        }
    }

    private bool Action(Mutant m)
    {
        int[] actions = [2, 7, 100, -1, int.MaxValue, int.MinValue];
        var action = actions[rng.Next(actions.Length)];
        m.Request.Action = (Proto.ChatAction)action;
        m.Notes.Add($"action = {action}");
        m.MustReject = true; // neither CHAT nor CANCEL: a bad request, one 400 terminal
        return true;
    }

    private bool ClientId(Mutant m)
    {
        switch (rng.Next(3))
        {
            case 0:
                m.Request.ClientRequestId = "";
                m.Notes.Add("untagged (no clientRequestId)");
                return true;
            case 1:
                m.Request.ClientRequestId += ":" + new string('i', 1000 + rng.Next(10_000));
                m.Notes.Add($"clientRequestId of {m.Request.ClientRequestId.Length} chars");
                return true;
            default:
                string[] tails = ["\u0000", "\n", " ", "\U0001F916", "\"'<>", "\u200B"];
                m.Request.ClientRequestId += tails[rng.Next(tails.Length)];
                m.Notes.Add($"clientRequestId \"{Show(m.Request.ClientRequestId)}\"");
                return true;
        }
    }

    private bool ProviderName(Mutant m)
    {
        string name;
        switch (rng.Next(5))
        {
            case 0: name = m.Provider.ToUpperInvariant(); break; // case-insensitive: still valid
            case 1: name = llmService ? "" : m.Provider; break;
            case 2: name = " " + m.Provider; m.MustReject = true; break;
            case 3: name = "nope\u0000"; m.MustReject = true; break;
            default:
                name = providers.Concat(TestRequests.Providers).First(p => p != m.Provider);
                if (llmService) m.Extra.Add(401); // another provider with this provider's credential
                else m.MustReject = true;        // a per-provider service refuses another provider's name
                break;
        }
        if (name.Length == 0 && llmService) m.MustReject = true;
        m.Request.ProviderName = name;
        m.Notes.Add($"providerName \"{Show(name)}\"");
        return true;
    }

    private bool AdditionalData(Mutant m)
    {
        var n = 1 + rng.Next(200);
        for (var i = 0; i < n; i++)
            m.Request.AdditionalData[rng.Next(5) == 0 ? "\u0000" + i : "k" + i] = rng.Next(10) == 0 ? new string('v', 20_000) : "\n\u0000v";
        m.Notes.Add($"{n} additionalData entries");
        return true;
    }

    private bool UnknownFields(Mutant m)
    {
        // Fields numbered far past any the contract will use, with every wire type but groups.
        var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        var n = 1 + rng.Next(20);
        for (var i = 0; i < n; i++)
        {
            var field = 1000 + rng.Next(100_000);
            switch (rng.Next(4))
            {
                case 0: output.WriteTag(field, WireFormat.WireType.Varint); output.WriteUInt64((ulong)rng.NextInt64()); break;
                case 1: output.WriteTag(field, WireFormat.WireType.Fixed64); output.WriteFixed64((ulong)rng.NextInt64()); break;
                case 2: output.WriteTag(field, WireFormat.WireType.Fixed32); output.WriteFixed32((uint)rng.Next()); break;
                default: output.WriteTag(field, WireFormat.WireType.LengthDelimited); output.WriteBytes(ByteString.CopyFrom(RandomBytes(rng.Next(64)))); break;
            }
        }
        output.Flush();
        var inMessage = rng.Next(2) == 0 && m.Request.Conversations.Count > 0;
        if (inMessage) m.Request.Conversations[0].MergeFrom(buffer.ToArray());
        else m.Request.MergeFrom(buffer.ToArray());
        m.Notes.Add($"{n} unknown fields in {(inMessage ? "conversations[0]" : "the request")}");
        return true;
    }

    // ---- values --------------------------------------------------------------------------------------------

    /// <summary>A <c>google.protobuf.Value</c> that JSON cannot hold, or nested deep, or odd.</summary>
    public Value WeirdValue(int maxDepth, out string what)
    {
        switch (rng.Next(12))
        {
            case 0: what = "Value(no kind)"; return new Value();
            case 1: what = "NaN"; return Value.ForNumber(double.NaN);
            case 2: what = "+Infinity"; return Value.ForNumber(double.PositiveInfinity);
            case 3: what = "-Infinity"; return Value.ForNumber(double.NegativeInfinity);
            case 4:
            {
                double[] numbers = [double.MaxValue, double.Epsilon, -0.0, 1e300, -1, 9007199254740993, 0.5];
                var n = numbers[rng.Next(numbers.Length)];
                what = "number " + n.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                return Value.ForNumber(n);
            }
            case 5:
            {
                string[] strings = ["", "\u0000", "NaN", "-1", "1e999", "{\"a\":", "[", new string('s', 100_000), "\ud800"];
                var s = strings[rng.Next(strings.Length)];
                what = $"\"{Show(s)}\"";
                return Value.ForString(s);
            }
            case 6: what = "null"; return Value.ForNull();
            case 7: what = "bool"; return Value.ForBool(true);
            case 8: what = "empty struct"; return Value.ForStruct(new Struct());
            default:
            {
                // Mostly shallow (the request stays decodable), sometimes past the parser's recursion limit.
                var depth = 1 + rng.Next(rng.Next(3) == 0 ? maxDepth : Math.Min(maxDepth, 25));
                Value leaf;
                string leafWhat;
                switch (rng.Next(4))
                {
                    case 0: leaf = new Value(); leafWhat = "Value(no kind)"; break;
                    case 1: leaf = Value.ForNumber(double.NaN); leafWhat = "NaN"; break;
                    default: leaf = Value.ForString("leaf"); leafWhat = "\"leaf\""; break;
                }
                var kinds = rng.Next(3); // 0 structs, 1 lists, 2 mixed
                var v = leaf;
                for (var i = 0; i < depth; i++)
                {
                    var asStruct = kinds == 0 || (kinds == 2 && rng.Next(2) == 0);
                    v = asStruct ? Value.ForStruct(new Struct { Fields = { ["k"] = v } }) : Value.ForList(v);
                }
                what = $"{(kinds == 0 ? "structs" : kinds == 1 ? "lists" : "structs and lists")} nested {depth} deep around {leafWhat}";
                return v;
            }
        }
    }

    /// <summary>Bytes that are not UTF-8: stray continuation bytes, overlongs, surrogates, truncated sequences.</summary>
    public byte[] InvalidUtf8(int length)
    {
        byte[][] bad = [[0xFF], [0xC3, 0x28], [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFE]];
        var bytes = new List<byte>();
        while (bytes.Count < length)
            bytes.AddRange(bytes.Count == 0 || rng.Next(3) == 0 ? bad[rng.Next(bad.Length)] : [(byte)('a' + rng.Next(26))]);
        var cut = bytes.Take(length).ToArray(); // every non-empty prefix of a bad sequence is still bad
        return IsUtf8(cut) ? [0xFF, .. cut] : cut;
    }

    private static bool IsUtf8(byte[] bytes)
    {
        try { new UTF8Encoding(false, true).GetString(bytes); return true; }
        catch (DecoderFallbackException) { return false; }
    }

    public byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        rng.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A short, printable rendering of a fuzzed string for failure messages.</summary>
    public static string Show(string s, int max = 40)
    {
        var sb = new StringBuilder();
        foreach (var c in s.Length > max ? s[..max] : s)
            sb.Append(c < 0x20 || c == 0x7F || char.IsSurrogate(c) ? $"\\u{(int)c:X4}" : c.ToString());
        if (s.Length > max) sb.Append($"…({s.Length} chars)");
        return sb.ToString();
    }
}
