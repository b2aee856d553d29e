using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using IntegrationApi.Audit;
using IntegrationApi.Auth;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary>Turns a request and its terminal response into the one audit record it leaves.</summary>
internal sealed class AuditTrail(AuditWriter writer, TimeProvider time)
{
    /// <summary>The original's enrichment from call metadata: source, env and region.</summary>
    public static IReadOnlyDictionary<string, string> CallTags(Metadata headers)
    {
        var tags = new Dictionary<string, string>(3);
        if (headers.GetValue("x-client-source") is { Length: > 0 } source) tags["source"] = source;
        if (headers.GetValue("x-rapida-environment") is { Length: > 0 } env) tags["env"] = env;
        if (headers.GetValue("x-rapida-region") is { Length: > 0 } region) tags["region"] = region;
        return tags;
    }

    public void Record(CallerPrincipal principal, IReadOnlyDictionary<string, string> callTags, string? serviceProvider,
        Proto.ChatRequest request, Proto.ChatResponse terminal)
    {
        var provider = serviceProvider ?? request.ProviderName.ToLowerInvariant();
        var model = Text(request.ModelParameters.GetValueOrDefault("model.name")) ?? "";
        var metadata = new Dictionary<string, string>(request.AdditionalData.Count + 6);
        foreach (var (k, v) in request.AdditionalData) metadata[k] = v;
        metadata["provider_name"] = provider;
        if (model.Length > 0) metadata["model_name"] = model;
        if (Text(request.ModelParameters.GetValueOrDefault("model.id")) is { } modelId) metadata["model_id"] = modelId;
        foreach (var (k, v) in callTags) metadata[k] = v;

        long? Metric(string name) => terminal.Metrics.FirstOrDefault(m => m.Name == name) is { } m
            && long.TryParse(m.Value, CultureInfo.InvariantCulture, out var v) ? v : null;
        writer.Enqueue(new AuditRecord
        {
            RequestId = terminal.RequestId,
            CreatedAt = time.GetUtcNow(),
            OrganizationId = principal.OrganizationId,
            ProjectId = principal.ProjectId,
            CredentialId = request.Credential?.Id ?? 0,
            Provider = provider,
            Model = model,
            Status = terminal.Success ? "SUCCESS" : "FAILED",
            Code = terminal.Code,
            FinishReason = terminal.FinishReason,
            TimeTakenNs = Metric("TIME_TAKEN") ?? 0,
            TimeToFirstTokenNs = Metric("TIME_TO_FIRST_TOKEN"),
            InputTokens = Metric("INPUT_TOKEN"),
            OutputTokens = Metric("OUTPUT_TOKEN"),
            TotalTokens = Metric("TOTAL_TOKEN"),
            Metadata = metadata,
        });
    }

    private static string? Text(Any? any)
    {
        if (any is null) return null;
        try
        {
            if (any.Is(Value.Descriptor)) return any.Unpack<Value>() is { KindCase: Value.KindOneofCase.StringValue } v ? v.StringValue : null;
            if (any.Is(StringValue.Descriptor)) return any.Unpack<StringValue>().Value;
        }
        catch (Google.Protobuf.InvalidProtocolBufferException) { }
        return null;
    }
}
