namespace IntegrationApi.Tests.Infrastructure;

/// <summary>Where the built service is, for the tests that run it as a child process (start-up, several instances).</summary>
public static class BuiltService
{
    /// <summary>
    /// <c>src/IntegrationApi/bin/CONFIGURATION/FRAMEWORK/IntegrationApi.dll</c> of the configuration and framework this test
    /// assembly was built for (it may not exist: the caller says what to do then).
    /// </summary>
    public static string DllPath { get; } = Find();

    /// <summary>The dotnet host running these tests (the SDK's, not whatever <c>dotnet</c> is first on PATH).</summary>
    public static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
        : "dotnet";

    private static string Find()
    {
        // tests/IntegrationApi.Tests/bin/CONFIGURATION/FRAMEWORK/ → src/IntegrationApi/bin/CONFIGURATION/FRAMEWORK/IntegrationApi.dll
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (testOutput.Name, testOutput.Parent!.Name);
        for (var dir = testOutput; dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "IntegrationApi.sln")))
                return Path.Combine(dir.FullName, "src", "IntegrationApi", "bin", configuration, framework, "IntegrationApi.dll");
        throw new InvalidOperationException($"no IntegrationApi.sln above {testOutput.FullName}");
    }
}
