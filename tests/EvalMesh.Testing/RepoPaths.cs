namespace EvalMesh.Testing;

/// <summary>Where the built programs are: the test run builds the whole solution first, in one configuration.</summary>
public static class RepoPaths
{
    /// <summary>The repository root (the folder with EvalMesh.sln).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release, as this test assembly was built.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The CLI's assembly.</summary>
    public static string Cli => Built("client/EvalMesh.Cli", "evalmesh.dll");

    /// <summary>The silo's assembly.</summary>
    public static string Silo => Built("silos/EvalMesh.Silo", "EvalMesh.Silo.dll");

    /// <summary>The program that uses the SDK's HTTP flavour alone, as a service outside the cluster would.</summary>
    public static string HttpClientCheck => Built("tests/EvalMesh.HttpClientCheck", "EvalMesh.HttpClientCheck.dll");

    /// <summary>A file under the repository root.</summary>
    public static string Under(string relative) => Path.Combine(Root, relative);

    private static string Built(string project, string assembly)
    {
        var path = Path.Combine(Root, project, "bin", Configuration, "net10.0", assembly);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built; build the solution first (tests/run.sh does)");
    }

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "EvalMesh.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("EvalMesh.sln not found above " + AppContext.BaseDirectory);
    }
}
