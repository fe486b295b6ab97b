using EvalMesh.Testing;
using Microsoft.Playwright;

[assembly: AssemblyFixture(typeof(EvalMesh.Report.Tests.Browser))]

namespace EvalMesh.Report.Tests;

/// <summary>
/// Debian's chromium (/usr/bin/chromium, installed by tests/prerequisites.sh), driven by Playwright; Playwright's own
/// browser download cannot reach its server from here. Screenshots go to tests/TestResults/screenshots.
/// </summary>
public sealed class Browser : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    /// <summary>The browser.</summary>
    public IBrowser Instance { get; private set; } = null!;

    /// <summary>Where screenshots are kept as test artefacts.</summary>
    public static string Screenshots { get; } = Directory.CreateDirectory(RepoPaths.Under("tests/TestResults/screenshots")).FullName;

    /// <summary>A fresh page in its own context (no cookies shared with other tests), 1280 pixels wide.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await Instance.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        return await context.NewPageAsync();
    }

    public async ValueTask InitializeAsync()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: tests/prerequisites.sh installs Debian's chromium");
        _playwright = await Playwright.CreateAsync();
        Instance = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true });
    }

    public async ValueTask DisposeAsync()
    {
        if (Instance is not null)
        {
            await Instance.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
