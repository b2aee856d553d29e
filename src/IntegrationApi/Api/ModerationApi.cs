using System.Globalization;
using System.Text;
using IntegrationApi.Chat;
using IntegrationApi.Engine;
using IntegrationApi.Moderation;
using Common = IntegrationApi.Contracts.Common;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary>
/// <c>GetModeration</c>: the text in <c>content</c> classified by the provider; <c>data</c> holds one <c>Moderation</c> per
/// category (the provider's name, its score or severity as a decimal string) and one named <c>flagged</c>.
/// </summary>
internal sealed class ModerationApi(CallRpcServices services) : CallRpc<Proto.GetModerationRequest, Proto.GetModerationResponse, ModerationResult>(services)
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    protected override string Operation => "moderation";

    protected override string ProviderNameOf(Proto.GetModerationRequest request) => request.ProviderName;

    protected override Proto.Credential? CredentialOf(Proto.GetModerationRequest request) => request.Credential;

    protected override IDictionary<string, string> AdditionalDataOf(Proto.GetModerationRequest request) => request.AdditionalData;

    protected override PreparedCall<Proto.GetModerationResponse, ModerationResult> Prepare(Proto.GetModerationRequest request, string provider)
    {
        var moderator = Services.Registry.Moderator(provider) ?? throw new ChatRequestException(
            $"provider \"{ProtoJson.Printable(provider)}\" has no GetModeration ({string.Join(", ", Services.Registry.Moderators)})");
        var credential = ProtoMapping.ToCredential(request.Credential);
        if (request.Content is null) throw new ChatRequestException("content is required (a text Content)");
        if (request.Content.ContentType is not ("" or "text")) throw new ChatRequestException("content.contentType must be text");
        string text;
        try { text = StrictUtf8.GetString(request.Content.Content_.Span); }
        catch (DecoderFallbackException) { throw new ChatRequestException("content.content is not UTF-8 text"); }
        if (string.IsNullOrWhiteSpace(text)) throw new ChatRequestException("content is empty");
        if (text.Length > moderator.MaxTextLength)
            throw new ChatRequestException($"content is {text.Length} characters; {moderator.Name} takes at most {moderator.MaxTextLength}");
        ProtoMapping.CheckAdditionalData(request.AdditionalData);
        var options = ModerationOptions.From(ProtoMapping.ToParameters(request.ModelParameters), request.Model);
        var call = new ModerationRequest(text, options, credential);
        var plan = new CallPlan<ModerationResult>("moderation", moderator.Name, options.Model ?? "", credential, [ct => moderator.ModerateAsync(call, ct)]);
        return new(plan, static (response, results) => Fill(response, results[0]));
    }

    private static void Fill(Proto.GetModerationResponse response, ModerationResult result)
    {
        foreach (var score in result.Scores)
            response.Data.Add(new Proto.Moderation { Name = score.Category, Value = score.Value.ToString("R", CultureInfo.InvariantCulture) });
        response.Data.Add(new Proto.Moderation { Name = "flagged", Value = result.Flagged ? "true" : "false" });
    }

    protected override Proto.GetModerationResponse NewResponse(int code, bool success, ulong requestId, Common.Error? error, IEnumerable<Common.Metric> metrics)
    {
        var response = new Proto.GetModerationResponse { Code = code, Success = success, RequestId = requestId, Error = error };
        response.Metrics.Add(metrics);
        return response;
    }

    protected override (int Code, bool Success, ulong RequestId) EnvelopeOf(Proto.GetModerationResponse response) => (response.Code, response.Success, response.RequestId);
}
