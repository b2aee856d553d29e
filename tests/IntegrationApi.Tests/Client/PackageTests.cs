using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;

namespace IntegrationApi.Tests.Client;

/// <summary>
/// <c>dotnet pack</c> of the client (and of the contract it depends on) makes packages that a project outside the repo
/// consumes from a local folder feed, and the README's C# example compiles as written in that project.
/// Offline: the sources are the fresh feed and the machine's global packages folder. Run under the build lock like every test run.
/// </summary>
public sealed partial class PackageTests
{
    [Fact]
    public async Task Pack_ThenAConsumerProject_BuildsTheReadmeExample_FromALocalFeed()
    {
        var repo = RepoRoot();
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var work = Directory.CreateTempSubdirectory("integration-client-pack-").FullName;
        try
        {
            var feed = Path.Combine(work, "feed");
            foreach (var project in new[] { "src/IntegrationApi.Contracts", "src/IntegrationApi.Client" })
                await DotnetAsync(repo, "pack", Path.Combine(repo, project), "-c", configuration, "--no-build", "-o", feed);

            var client = Path.Combine(feed, "IntegrationApi.Client.1.0.0.nupkg");
            using (var zip = ZipFile.OpenRead(client))
            {
                using var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
                var text = await nuspec.ReadToEndAsync();
                Assert.Contains("<license type=\"expression\">MIT</license>", text);
                Assert.Contains("id=\"IntegrationApi.Contracts\" version=\"1.0.0\"", text);
                Assert.Contains(zip.Entries, e => e.FullName == "lib/net10.0/IntegrationApi.Client.dll");
            }

            var consumer = Path.Combine(work, "consumer");
            Directory.CreateDirectory(consumer);
            await File.WriteAllTextAsync(Path.Combine(consumer, "Consumer.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="IntegrationApi.Client" Version="1.0.0" />
                  </ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(consumer, "Program.cs"), ReadmeExample(repo));
            var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            await DotnetAsync(consumer, "build", "--source", feed, "--source", globalPackages, "--packages", Path.Combine(work, "packages"));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void ReadmeExample_IsTheDotNetClientSection_CSharpBlocks()
    {
        var example = ReadmeExample(RepoRoot());
        Assert.Contains("using Metadata = Grpc.Core.Metadata;", example);
        Assert.Contains("AsIChatClient(", example);
    }

    /// <summary>Every <c>```csharp</c> block of README's ".NET client" section, in order, as one program.</summary>
    private static string ReadmeExample(string repo)
    {
        var readme = File.ReadAllText(Path.Combine(repo, "README.md"));
        var start = readme.IndexOf("## The .NET client", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has no \"## The .NET client\" section");
        var end = readme.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        var section = readme[start..(end < 0 ? readme.Length : end)];
        var blocks = CSharpBlock().Matches(section).Select(m => m.Groups[1].Value).ToArray();
        Assert.NotEmpty(blocks);
        return string.Join("\n", blocks);
    }

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "IntegrationApi.sln"))) return dir.FullName;
        throw new InvalidOperationException("IntegrationApi.sln not found above " + AppContext.BaseDirectory);
    }

    private static async Task DotnetAsync(string directory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.ArgumentList.Add("-nologo");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(limit.Token);
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited {process.ExitCode}:\n{await stdout}\n{await stderr}");
    }
}
