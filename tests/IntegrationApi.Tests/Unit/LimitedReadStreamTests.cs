using System.Text;
using IntegrationApi.Providers;

namespace IntegrationApi.Tests.Unit;

/// <summary>Every provider answer is read through a cap on its total size and on its line length.</summary>
public sealed class LimitedReadStreamTests
{
    private static LimitedReadStream Limited(byte[] body, long maxBytes, int maxLineBytes) =>
        new(new MemoryStream(body), new MemoryStream(), "openai", maxBytes, maxLineBytes);

    private static async Task<int> ReadAllAsync(Stream stream, int chunk)
    {
        var buffer = new byte[chunk];
        int read, total = 0;
        while ((read = await stream.ReadAsync(buffer)) > 0) total += read;
        return total;
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public async Task ManyShortLines_UpToTheTotal_Read(string lineEnd)
    {
        var body = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("data: " + new string('a', 90) + lineEnd, 1000)));
        Assert.Equal(body.Length, await ReadAllAsync(Limited(body, body.Length, 100), 7));
    }

    [Fact]
    public async Task OneByteOverTheTotal_BadResponse()
    {
        var body = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("x\n", 600)));
        var ex = await Assert.ThrowsAsync<ProviderException>(() => ReadAllAsync(Limited(body, body.Length - 1, 100), 64));
        Assert.Equal(ProviderErrorKind.BadResponse, ex.Kind);
        Assert.False(ex.IsTransient);
        Assert.Equal($"openai: answer larger than {body.Length - 1} bytes", ex.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    public async Task LineLongerThanTheLineCap_BadResponse_WhateverTheReadSize(int chunk)
    {
        var body = Encoding.ASCII.GetBytes("data: short\n\ndata: " + new string('a', 2000) + "\n\n");
        var ex = await Assert.ThrowsAsync<ProviderException>(() => ReadAllAsync(Limited(body, 1 << 20, 1000), chunk));
        Assert.Equal("openai: answer line larger than 1000 bytes", ex.Message);
    }

    [Fact]
    public void SyncRead_CountsToo()
    {
        var stream = Limited(new byte[5000], 1 << 20, 1000);
        Assert.Throws<ProviderException>(() => stream.ReadExactly(new byte[2000]));
    }
}
