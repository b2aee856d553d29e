using Grpc.Core;
using IntegrationApi.Contracts.Common;
using IntegrationApi.Tests.Infrastructure;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Tests.Functional;

/// <summary>AuditLoggingService: paginated, filtered on an allow-list, and scoped to the caller's project.</summary>
[Collection(AuditStores.Collection)]
public sealed class AuditLoggingServiceTests
{
    public static IEnumerable<object[]> Stores => AuditStores.All;

    [Theory, MemberData(nameof(Stores))]
    public async Task Queries_AreScopedFilteredAndPaginated_MetadataCanBeAdded(string store)
    {
        await using var gateway = await TestGateway.StartAsync(AuditStores.Settings(store));
        var jwt = TestGateway.AuthHeaders();                                                                // org 2, project 3
        var apiKey = new Grpc.Core.Metadata { { Auth.CallerAuthenticator.ApiKeyHeader, TestGateway.ApiKey } };       // org 7, project 8
        var mine = new List<ulong>();
        mine.Add((await gateway.ChatAsync("openai", gateway.NewChat("openai", "a"), jwt)).RequestId);
        mine.Add((await gateway.ChatAsync("openai", gateway.NewChat("openai", "b"), jwt)).RequestId);
        mine.Add((await gateway.ChatAsync("openai", gateway.NewChat("openai", "c", key: "wrong"), jwt)).RequestId);
        var theirs = (await gateway.ChatAsync("openai", gateway.NewChat("openai", "d"), apiKey)).RequestId;
        // Records are written off the hot path: wait (bounded) until all four are stored.
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Limit;
        while (await gateway.AuditStore.CountAsync(2, 3, default) + await gateway.AuditStore.CountAsync(7, 8, default) < 4 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        var client = new Proto.AuditLoggingService.AuditLoggingServiceClient(gateway.Channel);

        // The ids in the request are ignored: the caller sees its own project only.
        var all = await client.GetAllAuditLogAsync(new Proto.GetAllAuditLogRequest { OrganizationId = 7, ProjectId = 8 }, jwt);
        Assert.True(all.Success);
        Assert.Equal(mine.OrderDescending(), all.Data.Select(d => d.Id));
        Assert.Equal(3u, all.Paginated.TotalItem);
        Assert.All(all.Data, d => Assert.Equal((2UL, 3UL), (d.OrganizationId, d.ProjectId)));

        var failed = await client.GetAllAuditLogAsync(new Proto.GetAllAuditLogRequest { Criterias = { new Criteria { Key = "responseStatus", Value = "401", Logic = "=" } } }, jwt);
        Assert.Equal(mine[2], Assert.Single(failed.Data).Id);
        Assert.Equal("FAILED", failed.Data[0].Metrics.Single(m => m.Name == "STATUS").Value);

        var page2 = await client.GetAllAuditLogAsync(new Proto.GetAllAuditLogRequest { Paginate = new Paginate { Page = 2, PageSize = 2 } }, jwt);
        Assert.Equal((2u, 3u), (page2.Paginated.CurrentPage, page2.Paginated.TotalItem));
        Assert.Equal(mine[0], Assert.Single(page2.Data).Id);

        var injected = await client.GetAllAuditLogAsync(new Proto.GetAllAuditLogRequest { Criterias = { new Criteria { Key = "organization_id", Value = "7" } } }, jwt);
        Assert.Equal(400, injected.Code);
        var badLogic = await client.GetAllAuditLogAsync(new Proto.GetAllAuditLogRequest { Criterias = { new Criteria { Key = "status", Value = "x", Logic = "1=1 OR" } } }, jwt);
        Assert.Equal(400, badLogic.Code);

        Assert.Equal(404, (await client.GetAuditLogAsync(new Proto.GetAuditLogRequest { Id = theirs, OrganizationId = 7, ProjectId = 8 }, jwt)).Code);
        var own = await client.GetAuditLogAsync(new Proto.GetAuditLogRequest { Id = theirs }, apiKey);
        Assert.Equal((200, "openai"), (own.Code, own.Data.IntegrationName));

        var tagged = await client.CreateMetadataAsync(new Proto.CreateMetadataRequest { Id = mine[0], AdditionalData = { ["reviewed"] = "yes" } }, jwt);
        Assert.Equal("yes", tagged.Data.ExternalAuditMetadatas.Single(m => m.Key == "reviewed").Value);
        Assert.Equal(404, (await client.CreateMetadataAsync(new Proto.CreateMetadataRequest { Id = theirs, AdditionalData = { ["x"] = "y" } }, jwt)).Code);
        var unauthenticated = await Assert.ThrowsAsync<RpcException>(() => client.GetAllAuditLogAsync(new Proto.GetAllAuditLogRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, unauthenticated.StatusCode);
    }

    [Theory, MemberData(nameof(Stores))]
    public async Task GetAllAuditLog_PageFarBeyondTheData_EmptyWithTheTotal_NeverWrapsAround(string store)
    {
        await using var gateway = await TestGateway.StartAsync(AuditStores.Settings(store)).DefaultTimeout();
        using var written = new CounterWatch(gateway, "integration_api.audit.written");
        for (var i = 0; i < 3; i++) Assert.True((await gateway.ChatAsync("openai", gateway.NewChat("openai", $"p{i}")).DefaultTimeout()).Success);
        await written.WhenAtLeast(3).DefaultTimeout();
        var client = new Proto.AuditLoggingService.AuditLoggingServiceClient(gateway.Channel);
        async Task<Proto.GetAllAuditLogResponse> PageAsync(uint page, uint size) =>
            await client.GetAllAuditLogAsync(new Proto.GetAllAuditLogRequest { Paginate = new Paginate { Page = page, PageSize = size } }, TestGateway.AuthHeaders()).ResponseAsync.DefaultTimeout();

        Assert.Equal(2, (await PageAsync(1, 2)).Data.Count);
        Assert.Single((await PageAsync(2, 2)).Data);
        // In int arithmetic these pages wrapped to a negative offset and answered with the first page.
        foreach (var page in new[] { 4u, 21_474_837u, (uint)int.MaxValue, 1u << 31, (1u << 31) + 1, uint.MaxValue - 1, uint.MaxValue })
        foreach (var size in new[] { 0u, 1u, 2u, 100u, 1000u })
        {
            var answer = await PageAsync(page, size);
            Assert.True(answer.Success, $"page {page} size {size}: {answer.Error}");
            Assert.Empty(answer.Data);
            Assert.Equal((page, 3u), (answer.Paginated.CurrentPage, answer.Paginated.TotalItem));
        }
    }

    [Theory, MemberData(nameof(Stores))]
    public async Task CreateMetadata_ReservedKeysOrOversizedInput_Refused400NamingTheProblem_RecordUnchanged(string store)
    {
        await using var gateway = await TestGateway.StartAsync(AuditStores.Settings(store)).DefaultTimeout();
        using var written = new CounterWatch(gateway, "integration_api.audit.written");
        var id = (await gateway.ChatAsync("openai", gateway.NewChat("openai", "tag me")).DefaultTimeout()).RequestId;
        await written.WhenAtLeast(1).DefaultTimeout();
        var client = new Proto.AuditLoggingService.AuditLoggingServiceClient(gateway.Channel);
        async Task<Proto.CreateMetadataResponse> TagAsync(IDictionary<string, string> data)
        {
            var request = new Proto.CreateMetadataRequest { Id = id };
            request.AdditionalData.Add(data);
            return await client.CreateMetadataAsync(request, TestGateway.AuthHeaders()).ResponseAsync.DefaultTimeout();
        }
        async Task RefusedAsync(IDictionary<string, string> data, string problem)
        {
            var answer = await TagAsync(data);
            Assert.Equal((400, false), (answer.Code, answer.Success));
            Assert.Contains(problem, answer.Error.ErrorMessage, StringComparison.Ordinal);
        }
        static Dictionary<string, string> Keys(int count, string prefix = "k") => Enumerable.Range(0, count).ToDictionary(i => $"{prefix}{i}", i => "v");

        foreach (var reserved in new[] { "provider_name", "model_name", "model_id", "source", "env", "region", "Provider_Name", "ENV" })
            await RefusedAsync(new Dictionary<string, string> { ["ok"] = "1", [reserved] = "forged" }, $"\"{reserved}\" is reserved");
        await RefusedAsync(Keys(65), "65 keys; at most 64 per call");
        await RefusedAsync(new Dictionary<string, string> { [""] = "v" }, "empty key");
        await RefusedAsync(new Dictionary<string, string> { [new string('k', 129)] = "v" }, "129 characters long; at most 128");
        await RefusedAsync(new Dictionary<string, string> { ["big"] = new string('v', 4097) }, "4097 characters long; at most 4096");
        var untouched = (await client.GetAuditLogAsync(new Proto.GetAuditLogRequest { Id = id }, TestGateway.AuthHeaders()).ResponseAsync.DefaultTimeout()).Data;
        Assert.Equal("openai", untouched.ExternalAuditMetadatas.Single(m => m.Key == "provider_name").Value);
        Assert.DoesNotContain(untouched.ExternalAuditMetadatas, m => m.Value == "forged" || m.Key == "ok");

        // The limits themselves are allowed.
        Assert.Equal(200, (await TagAsync(new Dictionary<string, string> { [new string('k', 128)] = new string('v', 4096) })).Code);
        var grown = await TagAsync(Keys(64, "a"));
        Assert.Equal(200, grown.Code);
        // A record holds at most 256 keys, the service's own included: fill it to exactly 256, then one more is refused.
        var room = 256 - grown.Data.ExternalAuditMetadatas.Count;
        Assert.Equal(200, (await TagAsync(Keys(64, "b"))).Code);
        Assert.Equal(200, (await TagAsync(Keys(64, "c"))).Code);
        var last = await TagAsync(Keys(room - 128, "d"));
        Assert.Equal(256, last.Data.ExternalAuditMetadatas.Count);
        await RefusedAsync(new Dictionary<string, string> { ["one-too-many"] = "v" }, "would hold more than 256 metadata keys");
        Assert.Equal(200, (await TagAsync(new Dictionary<string, string> { ["a0"] = "replaced" })).Code); // replacing a key does not grow the record
    }

    [Theory, MemberData(nameof(Stores))]
    public async Task Payloads_KeptOnlyWhenAsked_CredentialRedacted(string store)
    {
        var settings = AuditStores.Settings(store);
        settings["Audit:IncludePayloads"] = "true";
        await using var gateway = await TestGateway.StartAsync(settings);
        var chat = gateway.NewChat("openai", "hello payload");
        chat.Fallbacks.Add(new Proto.ChatTarget { Credential = TestRequests.Credential("fallback-secret-key") }); // its own credential too
        var id = (await gateway.ChatAsync("openai", chat)).RequestId;
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Limit;
        while (await gateway.AuditStore.CountAsync(2, 3, default) < 1 && DateTime.UtcNow < deadline) await Task.Delay(20);

        var log = (await new Proto.AuditLoggingService.AuditLoggingServiceClient(gateway.Channel)
            .GetAuditLogAsync(new Proto.GetAuditLogRequest { Id = id }, TestGateway.AuthHeaders())).Data;

        var request = log.Request.ToString();
        Assert.Contains(Convert.ToBase64String("hello payload"u8.ToArray()), request); // Content.content is bytes: base64 in JSON
        Assert.Contains("gpt-4o-mini", request);
        Assert.Contains("[redacted]", request);
        Assert.DoesNotContain("test-key", request);
        Assert.DoesNotContain("fallback-secret-key", request);
        Assert.Equal("stop", log.Response.Fields["finishReason"].StringValue);
    }
}
