using System.Collections.Frozen;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using IntegrationApi.Audit;
using IntegrationApi.Auth;
using IntegrationApi.Contracts.Common;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary>
/// The original's AuditLoggingService, always scoped to the caller's organization and project (the ids in
/// a request are ignored: one project can never read another's records). Filters come from an allow-list
/// of fields with equality only; nothing from the caller reaches SQL as text.
/// </summary>
internal sealed class AuditLoggingServiceBinding(IAuditStore store) : Proto.AuditLoggingService.AuditLoggingServiceBase
{
    private const int DefaultPageSize = 20, MaxPageSize = 100;
    private const int MaxMetadataKeysPerCall = 64, MaxMetadataKeyLength = 128, MaxMetadataValueLength = 4096, MaxMetadataKeysPerRecord = 256;

    /// <summary>The keys the service writes itself (AuditTrail's enrichment, and the attempts); a caller may not overwrite them, in any case.</summary>
    private static readonly string[] ReservedMetadataKeyNames = ["provider_name", "model_name", "model_id", "source", "env", "region", AuditRecord.AttemptsKey];
    private static readonly FrozenSet<string> ReservedMetadataKeys = ReservedMetadataKeyNames.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly Dictionary<string, AuditField> Fields = new(StringComparer.OrdinalIgnoreCase)
    {
        ["integrationName"] = AuditField.Provider, ["provider"] = AuditField.Provider, ["provider_name"] = AuditField.Provider,
        ["model"] = AuditField.Model, ["model_name"] = AuditField.Model,
        ["status"] = AuditField.Status,
        ["responseStatus"] = AuditField.Code, ["code"] = AuditField.Code,
        ["finishReason"] = AuditField.FinishReason, ["finish_reason"] = AuditField.FinishReason,
        ["credentialId"] = AuditField.CredentialId, ["credential_id"] = AuditField.CredentialId,
    };

    public override async Task<Proto.GetAllAuditLogResponse> GetAllAuditLog(Proto.GetAllAuditLogRequest request, ServerCallContext context)
    {
        var principal = AuthInterceptor.PrincipalOf(context);
        var filters = new Dictionary<AuditField, string>();
        foreach (var c in request.Criterias)
        {
            if (!Fields.TryGetValue(c.Key, out var field))
                return new() { Code = 400, Error = Error(400, $"criteria key \"{c.Key}\" is not filterable ({string.Join(", ", Fields.Keys)})") };
            if (c.Logic.Length > 0 && c.Logic != "=")
                return new() { Code = 400, Error = Error(400, $"criteria logic \"{c.Logic}\" is not supported (=)") };
            filters[field] = c.Value;
        }
        // Any uint page is valid: the offset is computed in long (at most (2^32 - 2) * 100, no wrap), and a page past
        // the data is empty with the true total.
        var page = Math.Max(1u, request.Paginate?.Page ?? 1u);
        var size = (int)Math.Clamp(request.Paginate?.PageSize is > 0 and var s ? s : DefaultPageSize, 1, MaxPageSize);
        var skip = (page - 1L) * size;
        var (records, total) = await store.QueryAsync(new AuditQuery(principal.OrganizationId, principal.ProjectId, filters, skip, size), context.CancellationToken).ConfigureAwait(false);
        var response = new Proto.GetAllAuditLogResponse
        {
            Code = 200, Success = true,
            Paginated = new Paginated { CurrentPage = page, TotalItem = (uint)Math.Min(total, uint.MaxValue) },
        };
        response.Data.AddRange(records.Select(ToAuditLog));
        return response;
    }

    public override async Task<Proto.GetAuditLogResponse> GetAuditLog(Proto.GetAuditLogRequest request, ServerCallContext context)
    {
        var principal = AuthInterceptor.PrincipalOf(context);
        var record = await store.GetAsync(principal.OrganizationId, principal.ProjectId, request.Id, context.CancellationToken).ConfigureAwait(false);
        return record is null
            ? new() { Code = 404, Error = Error(404, $"no audit record {request.Id} in this project") }
            : new() { Code = 200, Success = true, Data = ToAuditLog(record) };
    }

    public override async Task<Proto.CreateMetadataResponse> CreateMetadata(Proto.CreateMetadataRequest request, ServerCallContext context)
    {
        var principal = AuthInterceptor.PrincipalOf(context);
        if (MetadataProblem(request.AdditionalData) is { } problem) return new() { Code = 400, Error = Error(400, problem) };
        var (outcome, record) = await store.MergeMetadataAsync(principal.OrganizationId, principal.ProjectId, request.Id,
            request.AdditionalData.ToDictionary(kv => kv.Key, kv => kv.Value), MaxMetadataKeysPerRecord, context.CancellationToken).ConfigureAwait(false);
        return outcome switch
        {
            MetadataMerge.Merged => new() { Code = 200, Success = true, Data = ToAuditLog(record!) },
            MetadataMerge.TooManyKeys => new() { Code = 400, Error = Error(400, $"audit record {request.Id} would hold more than {MaxMetadataKeysPerRecord} metadata keys") },
            _ => new() { Code = 404, Error = Error(404, $"no audit record {request.Id} in this project") },
        };
    }

    /// <summary>What is wrong with caller metadata, or null: reserved keys are the service's own, and every size is bounded.</summary>
    private static string? MetadataProblem(IDictionary<string, string> metadata)
    {
        if (metadata.Count == 0) return "additionalData is empty";
        if (metadata.Count > MaxMetadataKeysPerCall) return $"additionalData has {metadata.Count} keys; at most {MaxMetadataKeysPerCall} per call";
        foreach (var (key, value) in metadata)
        {
            if (key.Length == 0) return "additionalData has an empty key";
            if (key.Length > MaxMetadataKeyLength) return $"additionalData key \"{key[..32]}…\" is {key.Length} characters long; at most {MaxMetadataKeyLength}";
            if (ReservedMetadataKeys.Contains(key)) return $"additionalData key \"{key}\" is reserved: the service writes it ({string.Join(", ", ReservedMetadataKeyNames)})";
            if (value.Length > MaxMetadataValueLength) return $"the value of additionalData key \"{key}\" is {value.Length} characters long; at most {MaxMetadataValueLength}";
        }
        return null;
    }

    private static Proto.AuditLog ToAuditLog(AuditRecord r)
    {
        var log = new Proto.AuditLog
        {
            Id = r.RequestId,
            IntegrationName = r.Provider,
            AssetPrefix = $"{r.OrganizationId}/{r.ProjectId}/{r.CredentialId}",
            ResponseStatus = r.Code,
            TimeTaken = r.TimeTakenNs,
            Status = "complete",
            ProjectId = r.ProjectId,
            OrganizationId = r.OrganizationId,
            CredentialId = r.CredentialId,
            CreatedDate = Timestamp.FromDateTimeOffset(r.CreatedAt),
            UpdatedDate = Timestamp.FromDateTimeOffset(r.CreatedAt),
            Request = Payload(r.RequestJson),
            Response = Payload(r.ResponseJson),
        };
        // The attempts are one entry of compact JSON (AuditAttempt): the AuditLog message has no field for them. A stored
        // key of that name (only from before it was reserved) gives way to them.
        var attempts = r.Attempts.Count > 0;
        log.ExternalAuditMetadatas.AddRange(r.Metadata.Where(kv => !(attempts && kv.Key == AuditRecord.AttemptsKey))
            .Select(kv => new IntegrationApi.Contracts.Common.Metadata { Key = kv.Key, Value = kv.Value }));
        if (attempts) log.ExternalAuditMetadatas.Add(new IntegrationApi.Contracts.Common.Metadata { Key = AuditRecord.AttemptsKey, Value = AuditAttempt.ToJson(r.Attempts) });
        void Metric(string name, long? value) { if (value is { } v) log.Metrics.Add(new Metric { Name = name, Value = v.ToString(CultureInfo.InvariantCulture) }); }
        log.Metrics.Add(new Metric { Name = Proto.MetricNames.RequestId, Value = r.RequestId.ToString(CultureInfo.InvariantCulture) });
        log.Metrics.Add(new Metric { Name = Proto.MetricNames.Status, Value = r.Status });
        Metric(Proto.MetricNames.TimeTaken, r.TimeTakenNs);
        Metric(Proto.MetricNames.TimeToFirstToken, r.TimeToFirstTokenNs);
        Metric(Proto.MetricNames.InputTokens, r.InputTokens);
        Metric(Proto.MetricNames.OutputTokens, r.OutputTokens);
        Metric(Proto.MetricNames.TotalTokens, r.TotalTokens);
        if (r.CostUsd is { } cost) log.Metrics.Add(new Metric { Name = Proto.MetricNames.CostUsd, Value = Pricing.CallPricer.Format(cost) });
        // As on the terminal, when the request ran (a record from before attempts were kept has none of them).
        if (AuditAttempt.Served(r.Attempts) is { } served)
        {
            if (served.Provider.Length > 0) log.Metrics.Add(new Metric { Name = Proto.MetricNames.ProviderName, Value = served.Provider });
            if (served.Model.Length > 0) log.Metrics.Add(new Metric { Name = Proto.MetricNames.ModelName, Value = served.Model });
            Metric(Proto.MetricNames.Attempts, r.Attempts.Count);
        }
        return log;
    }

    /// <summary>A stored payload as a Struct; one that does not parse back (e.g. nested past protobuf's limit) is replaced by a note.</summary>
    private static Struct? Payload(string? json)
    {
        if (json is null) return null;
        try { return Struct.Parser.ParseJson(json); }
        catch (Exception ex) when (ex is Google.Protobuf.InvalidJsonException or Google.Protobuf.InvalidProtocolBufferException or InvalidOperationException)
        {
            return new Struct { Fields = { ["unreadable"] = Value.ForString(ex.GetType().Name) } };
        }
    }

    private static Error Error(int code, string message) => new() { ErrorCode = (ulong)code, ErrorMessage = message, HumanMessage = message };
}
