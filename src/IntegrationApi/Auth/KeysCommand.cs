using System.Globalization;

namespace IntegrationApi.Auth;

/// <summary>
/// <c>IntegrationApi keys create --org N --project N [--name TEXT] | list | revoke ID</c>: manages the stored
/// project API keys with the service's own configuration (the same key store file).
/// </summary>
public static class KeysCommand
{
    public const string Usage = "usage: keys create --org N --project N [--name TEXT] | keys list | keys revoke ID";

    /// <summary>Runs the command; returns the process exit code.</summary>
    public static int Run(ApiKeyStore store, IReadOnlyList<string> args, TextWriter output)
    {
        string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        switch (args.FirstOrDefault())
        {
            case "create" when ulong.TryParse(Option("--org"), CultureInfo.InvariantCulture, out var org) && org > 0
                               && ulong.TryParse(Option("--project"), CultureInfo.InvariantCulture, out var project) && project > 0:
                var (key, secret) = store.Create(org, project, Option("--name") ?? "");
                output.WriteLine($"created key {key.Id} for organization {org}, project {project}. It is shown once; keep it now:");
                output.WriteLine(secret);
                return 0;
            case "list":
                output.WriteLine("id\tprefix\torganization\tproject\tcreated\trevoked\tname");
                foreach (var k in store.List())
                    output.WriteLine($"{k.Id}\t{k.Prefix}…\t{k.OrganizationId}\t{k.ProjectId}\t{k.CreatedAt:u}\t{(k.RevokedAt is { } r ? r.ToString("u", CultureInfo.InvariantCulture) : "-")}\t{k.Name}");
                return 0;
            case "revoke" when args.Count > 1 && long.TryParse(args[1], CultureInfo.InvariantCulture, out var id):
                var revoked = store.Revoke(id);
                output.WriteLine(revoked ? $"key {id} revoked: new streams and calls with it are refused within {ApiKeyLookupCache.FoundFor.TotalSeconds:0} s, new requests on open streams within Auth:RevocationCheckInterval" : $"no active key {id}");
                return revoked ? 0 : 1;
            default:
                output.WriteLine(Usage);
                return 2;
        }
    }
}
