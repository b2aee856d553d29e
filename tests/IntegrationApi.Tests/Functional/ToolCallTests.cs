using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Contracts.Common;
using IntegrationApi.Testing;
using IntegrationApi.Tests.Infrastructure;
using static IntegrationApi.Tests.Infrastructure.TestRequests;

namespace IntegrationApi.Tests.Functional;

/// <summary>Tool calls out (parallel, streamed fragments) and tool results back in, per provider wire format.</summary>
public sealed class ToolCallTests
{
    public static IEnumerable<object[]> AllProviders => ToolProviderCases;

    [Theory, MemberData(nameof(AllProviders))]
    public async Task ParallelToolCalls_AllDeliveredCompleteOnTheTerminal(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).DefaultScript = new FakeScript
        {
            TextChunks = ["Checking both."],
            ToolCalls =
            [
                new FakeToolCall("call_paris", "get_weather", "{\"ci", "ty\":\"Pa", "ris\"}"),
                new FakeToolCall("call_rome", "get_weather", "{\"city\":", "\"Rome\"}"),
            ],
        };
        var request = gateway.NewChat(provider, "weather in Paris and Rome?");
        request.ToolDefinitions.Add(WeatherTool());
        request.ModelParameters["model.tool_choice"] = Param(Value.ForString("auto"));
        using var stream = gateway.OpenStream(provider);

        await stream.SendAsync(request);
        var terminal = await stream.ReadUntilAsync(ChatStream.IsTerminal);

        Assert.True(terminal.Success, terminal.Describe());
        Assert.Equal("tool_calls", terminal.FinishReason);
        Assert.Equal("Checking both.", terminal.Text());
        Assert.Equal(2, terminal.Data.ToolCalls.Count);
        var calls = terminal.Data.ToolCalls;
        if (provider is "gemini" or "vertexai")
        {
            // Google sends no call ids: the adapter makes unique ones, used again to match the results.
            Assert.All(calls, c => Assert.StartsWith("call_", c.Id));
            Assert.NotEqual(calls[0].Id, calls[1].Id);
        }
        else Assert.Equal(["call_paris", "call_rome"], calls.Select(c => c.Id));
        Assert.Equal(["get_weather", "get_weather"], calls.Select(c => c.Function.Name));
        Assert.Equal("Paris", JsonDocument.Parse(calls[0].Function.Arguments).RootElement.GetProperty("city").GetString());
        Assert.Equal("Rome", JsonDocument.Parse(calls[1].Function.Arguments).RootElement.GetProperty("city").GetString());
        Assert.All(terminal.Data.ToolCalls, c => Assert.Equal("function", c.Type));
        Assert.Equal("Checking both.", stream.DeltaText()); // tool calls come whole on the terminal, not as deltas

        var sent = gateway.Fake(provider).Requests[0].Json!.Value;
        var tool = sent.GetProperty("tools")[0];
        if (provider is "gemini" or "vertexai")
        {
            var declaration = tool.GetProperty("functionDeclarations")[0];
            Assert.Equal("get_weather", declaration.GetProperty("name").GetString());
            Assert.Equal("STRING", declaration.GetProperty("parameters").GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
            Assert.Equal("AUTO", sent.GetProperty("toolConfig").GetProperty("functionCallingConfig").GetProperty("mode").GetString());
        }
        else if (provider != "anthropic")
        {
            Assert.Equal("function", tool.GetProperty("type").GetString());
            Assert.Equal("get_weather", tool.GetProperty("function").GetProperty("name").GetString());
            Assert.Equal("city", tool.GetProperty("function").GetProperty("parameters").GetProperty("required")[0].GetString());
            if (provider == "cohere") Assert.False(sent.TryGetProperty("tool_choice", out _)); // auto is Cohere's default; it has no value for it
            else Assert.Equal("auto", sent.GetProperty("tool_choice").GetString());
        }
        else
        {
            Assert.Equal("get_weather", tool.GetProperty("name").GetString());
            Assert.Equal("string", tool.GetProperty("input_schema").GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
            Assert.Equal("auto", sent.GetProperty("tool_choice").GetProperty("type").GetString());
        }
    }

    [Theory, MemberData(nameof(AllProviders))]
    public async Task ToolResults_SentBackInTheProvidersFormat(string provider)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Fake(provider).DefaultScript = new FakeScript { TextChunks = ["Paris 18°C, Rome 24°C."] };
        var request = gateway.NewChat(provider, "weather in Paris and Rome?");
        request.Conversations.Insert(0, Message("system", "You are terse."));
        request.ToolDefinitions.Add(WeatherTool());
        request.Conversations.Add(new Message
        {
            Role = "assistant",
            ToolCalls =
            {
                new ToolCall { Id = "call_paris", Type = "function", Function = new FunctionCall { Name = "get_weather", Arguments = "{\"city\":\"Paris\"}" } },
                new ToolCall { Id = "call_rome", Type = "function", Function = new FunctionCall { Name = "get_weather", Arguments = "{\"city\":\"Rome\"}" } },
            },
        });
        request.Conversations.Add(new Message
        {
            Role = "tool",
            Contents =
            {
                new Content { Name = "get_weather", ContentType = "call_paris", Content_ = ByteString.CopyFromUtf8("{\"temp_c\":18}") },
                new Content { Name = "get_weather", ContentType = "call_rome", Content_ = ByteString.CopyFromUtf8("{\"temp_c\":24}") },
            },
        });

        var response = await gateway.ChatAsync(provider, request);
        Assert.True(response.Success, response.Describe());

        if (provider is "gemini" or "vertexai")
        {
            var body = gateway.Fake(provider).Requests[0].Json!.Value;
            Assert.Equal("You are terse.", body.GetProperty("systemInstruction").GetProperty("parts")[0].GetProperty("text").GetString());
            var contents = body.GetProperty("contents");
            Assert.Equal(["user", "model", "user"], contents.EnumerateArray().Select(c => c.GetProperty("role").GetString()));
            var call = contents[1].GetProperty("parts")[1].GetProperty("functionCall");
            Assert.Equal(("get_weather", "Rome"), (call.GetProperty("name").GetString(), call.GetProperty("args").GetProperty("city").GetString()));
            var result = contents[2].GetProperty("parts")[0].GetProperty("functionResponse");
            Assert.Equal("get_weather", result.GetProperty("name").GetString());
            Assert.Equal(18, result.GetProperty("response").GetProperty("temp_c").GetInt32()); // an object, parsed from the text
            return;
        }
        var messages = gateway.Fake(provider).Requests[0].Json!.Value.GetProperty("messages");
        if (provider != "anthropic")
        {
            Assert.Equal(["system", "user", "assistant", "tool", "tool"], messages.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
            var assistant = messages[2];
            if (provider == "cohere") Assert.False(assistant.TryGetProperty("content", out _));
            else Assert.Equal(JsonValueKind.Null, assistant.GetProperty("content").ValueKind);
            // Mistral takes only 9-letter-or-digit ids: others are adapted, the same way in the call and its result (contract §8.4).
            string Id(string id) => provider == "mistral" ? IntegrationApi.Chat.ToolCallIds.ToNineAlphanumeric(id) : id;
            Assert.Equal(Id("call_rome"), assistant.GetProperty("tool_calls")[1].GetProperty("id").GetString());
            Assert.Equal("{\"city\":\"Rome\"}", assistant.GetProperty("tool_calls")[1].GetProperty("function").GetProperty("arguments").GetString());
            Assert.Equal(Id("call_paris"), messages[3].GetProperty("tool_call_id").GetString());
            Assert.Equal("{\"temp_c\":24}", messages[4].GetProperty("content").GetString());
        }
        else
        {
            var body = gateway.Fake(provider).Requests[0].Json!.Value;
            Assert.Equal("You are terse.", body.GetProperty("system")[0].GetProperty("text").GetString());
            Assert.Equal(["user", "assistant", "user"], messages.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
            var toolUse = messages[1].GetProperty("content")[1];
            Assert.Equal("tool_use", toolUse.GetProperty("type").GetString());
            Assert.Equal("call_rome", toolUse.GetProperty("id").GetString());
            Assert.Equal("Rome", toolUse.GetProperty("input").GetProperty("city").GetString()); // an object, not a string
            var results = messages[2].GetProperty("content");
            Assert.Equal("tool_result", results[0].GetProperty("type").GetString());
            Assert.Equal("call_paris", results[0].GetProperty("tool_use_id").GetString());
            Assert.Equal("{\"temp_c\":24}", results[1].GetProperty("content").GetString());
        }
    }
}
