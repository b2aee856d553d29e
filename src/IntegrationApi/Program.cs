using IntegrationApi;
using IntegrationApi.Auth;

if (args is ["keys", .. var rest])
{
    // Key management with the service's own configuration: `dotnet run --project src/IntegrationApi -- keys list`.
    await using var admin = IntegrationApiApp.Create([]);
    return KeysCommand.Run(admin.Services.GetRequiredService<ApiKeyStore>(), rest, Console.Out);
}

IntegrationApiApp.Create(args).Run();
return 0;
