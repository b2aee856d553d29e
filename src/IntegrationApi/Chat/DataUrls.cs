namespace IntegrationApi.Chat;

/// <summary>The <c>data:</c> URLs the edge makes of raw image and audio bytes (<c>data:&lt;mime&gt;;base64,&lt;data&gt;</c>).</summary>
public static class DataUrls
{
    /// <summary>Splits a base64 data URL into its MIME type and data; false for any other URL.</summary>
    public static bool TryParse(string url, out string mimeType, out string base64)
    {
        mimeType = base64 = "";
        if (!url.StartsWith("data:", StringComparison.Ordinal)) return false;
        var i = url.IndexOf(";base64,", StringComparison.Ordinal);
        if (i <= 5) return false;
        mimeType = url[5..i];
        base64 = url[(i + 8)..];
        return true;
    }
}
