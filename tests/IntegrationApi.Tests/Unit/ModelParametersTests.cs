using System.Text.Json;
using IntegrationApi.Chat;

namespace IntegrationApi.Tests.Unit;

public sealed class ModelParametersTests
{
    private static ModelParameters Of(string json) => new(JsonDocument.Parse(json).RootElement.EnumerateObject()
        .ToDictionary(p => p.Name, p => p.Value.Clone()));

    [Fact]
    public void TypedGetters_AcceptTheOriginalsLooseShapes()
    {
        var p = Of("""{"a":"0.5","b":0.7,"c":"12","d":"true","e":"{\"x\":1}","f":{"y":2},"g":"END, STOP","h":["x","y"],"i":""}""");
        Assert.Equal(0.5, p.GetDouble("a"));
        Assert.Equal(0.7, p.GetDouble("b"));
        Assert.Equal(12, p.GetInt64("c"));
        Assert.True(p.GetBool("d"));
        Assert.Equal(1, p.GetObject("e")!.Value.GetProperty("x").GetInt32());
        Assert.Equal(2, p.GetObject("f")!.Value.GetProperty("y").GetInt32());
        Assert.Equal(["END", "STOP"], p.GetList("g"));
        Assert.Equal(["x", "y"], p.GetList("h"));
        Assert.Null(p.GetString("i"));
        Assert.Null(p.GetDouble("missing"));
        Assert.Equal("0.7", p.GetString("b"));
    }

    [Theory]
    [InlineData("""{"k":"warm"}""", "a number")]
    [InlineData("""{"k":1.5}""", "a whole number")]
    [InlineData("""{"k":"{not json"}""", "a JSON object")]
    public void UnreadableValue_400NamingTheKey(string json, string expected)
    {
        var p = Of(json);
        var error = Assert.Throws<ChatRequestException>(() =>
        {
            if (expected == "a number") p.GetDouble("k");
            else if (expected == "a whole number") p.GetInt64("k");
            else p.GetObject("k");
        });
        Assert.Contains("\"k\"", error.Message);
        Assert.Contains(expected, error.Message);
    }
}
