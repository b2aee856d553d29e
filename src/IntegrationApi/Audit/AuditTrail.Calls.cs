using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IntegrationApi.Auth;
using IntegrationApi.Chat;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Audit;

/// <summary>What an Embedding, Reranking or GetModeration call leaves in the audit trail.</summary>
internal sealed record CallAuditEntry
{
    public required CallerPrincipal Principal { get; init; }
    public required IReadOnlyDictionary<string, string> CallTags { get; init; }
    /// <summary><c>embedding</c>, <c>reranking</c> or <c>moderation</c> (metadata key <c>operation</c>).</summary>
    public required string Operation { get; init; }
    public required string Provider { get; init; }
    public string Model { get; init; } = "";
    public ulong RequestId { get; init; }
    public ulong CredentialId { get; init; }
    public required IDictionary<string, string> AdditionalData { get; init; }
    public int Code { get; init; }
    public bool Success { get; init; }
    public TimeSpan? Elapsed { get; init; }
    public TokenUsage? Usage { get; init; }
    /// <summary>The request message (its credential is redacted here before it is formatted).</summary>
    public required IMessage Request { get; init; }
    /// <summary>The response as it should be kept (embedding vectors left out by the caller).</summary>
    public required IMessage Response { get; init; }
}

internal sealed partial class AuditTrail
{
    /// <summary>Records one non-chat call, accepted or refused; never throws into the call.</summary>
    public void RecordCall(CallAuditEntry entry)
    {
        try { RecordCallCore(entry); }
        catch (Exception ex)
        {
            Log.RecordFailed(logger, entry.RequestId, ex);
            writer.Enqueue(new AuditRecord
            {
                RequestId = entry.RequestId, CreatedAt = time.GetUtcNow(), OrganizationId = entry.Principal.OrganizationId, ProjectId = entry.Principal.ProjectId,
                Provider = entry.Provider, Status = entry.Success ? Proto.MetricNames.StatusSuccess : Proto.MetricNames.StatusFailed, Code = entry.Code,
            });
        }
    }

    private void RecordCallCore(CallAuditEntry entry)
    {
        var metadata = new Dictionary<string, string>(Math.Min(entry.AdditionalData.Count, MaxMetadataEntries) + 6);
        foreach (var (k, v) in entry.AdditionalData)
        {
            if (metadata.Count >= MaxMetadataEntries) break;
            metadata[Cut(k, MaxMetadataKeyLength)] = Cut(v, MaxMetadataValueLength);
        }
        metadata["provider_name"] = entry.Provider;
        metadata["operation"] = entry.Operation;
        var model = Cut(entry.Model, MaxModelNameLength);
        if (model.Length > 0) metadata["model_name"] = model;
        foreach (var (k, v) in entry.CallTags) metadata[k] = v;
        metadata.Remove(AuditRecord.AttemptsKey);
        string? requestJson = null, responseJson = null;
        if (_payloads)
        {
            try { (requestJson, responseJson) = (Format(RedactedCopy(entry.Request)), Format(entry.Response)); }
            catch (Exception ex) { Log.RecordFailed(logger, entry.RequestId, ex); }
        }
        var timeTaken = entry.Elapsed is { } e ? e.Ticks * 100 : 0;
        Log.Request(logger, entry.RequestId, entry.Operation, entry.Principal.OrganizationId, entry.Principal.ProjectId, entry.Provider, model,
            entry.Code, "", timeTaken / 1e6, -1, entry.Usage?.Input ?? 0, 0);
        writer.Enqueue(new AuditRecord
        {
            RequestId = entry.RequestId,
            CreatedAt = time.GetUtcNow(),
            OrganizationId = entry.Principal.OrganizationId,
            ProjectId = entry.Principal.ProjectId,
            CredentialId = entry.CredentialId,
            Provider = entry.Provider,
            Model = model,
            Status = entry.Success ? Proto.MetricNames.StatusSuccess : Proto.MetricNames.StatusFailed,
            Code = entry.Code,
            TimeTakenNs = timeTaken,
            InputTokens = entry.Usage?.Input,
            TotalTokens = entry.Usage?.Total,
            Metadata = metadata,
            RequestJson = requestJson,
            ResponseJson = responseJson,
        });
    }

    /// <summary>A copy of <paramref name="request"/> whose <c>credential</c> values are all replaced: secrets never reach a record.</summary>
    private static IMessage RedactedCopy(IMessage request)
    {
        var copy = request.Descriptor.Parser.ParseFrom(request.ToByteString());
        if (copy.Descriptor.FindFieldByName("credential")?.Accessor.GetValue(copy) is Proto.Credential { Value: { } secret })
            foreach (var key in secret.Fields.Keys.ToList()) secret.Fields[key] = Value.ForString("[redacted]");
        return copy;
    }
}
