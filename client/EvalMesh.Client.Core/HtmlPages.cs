using System.Net;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace EvalMesh.Client;

/// <summary>
/// The report as HTML: one self-contained page (inline CSS, script and the vendored Apache ECharts; no network needed),
/// either with the run's data inside it (the offline file) or fetching it from a silo and refreshing while the run goes
/// (the live page). Also the silo's list of runs and its sign-in form.
/// </summary>
public static class HtmlPages
{
    /// <summary>The most cells a page holds, so that the page of a huge run still opens quickly.</summary>
    public const int MaxCells = 10_000;

    // The data sits in a <script> element: '<', '>' and '&' must be escaped there, which the default encoder does.
    private static readonly JsonSerializerOptions EmbeddedJson = new(ReportWriter.JsonLine) { Encoder = JavaScriptEncoder.Default };

    // Each page's template with its fixed parts (style, script, ECharts) inlined, read from the assembly once.
    private static readonly Lazy<PageTemplate> ReportTemplate = new(() => Template("report.html", ("echarts", "echarts.min.js"), ("script", "report.js")));
    private static readonly Lazy<PageTemplate> RunListTemplate = new(() => Template("runs.html"));
    private static readonly Lazy<PageTemplate> SignInTemplate = new(() => Template("signin.html"));

    /// <summary>
    /// Writes the offline report of a run to <paramref name="output"/>, with its data (and its first
    /// <see cref="MaxCells"/> cells) inside, serialized straight into the page.
    /// </summary>
    public static Task WriteReportAsync(ReportDocument document, Stream output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(document);
        var shown = document.Cells.Count <= MaxCells ? document : document with { Cells = [.. document.Cells.Take(MaxCells)] };
        return ReportTemplate.Value.WriteAsync(output, ReportHoles($"EvalMesh run {document.Report.Run.RunId}", live: string.Empty, status: string.Empty), "data", page => JsonSerializer.SerializeAsync(page, shown, EmbeddedJson, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// The live report of a run: it shows the run's status from <paramref name="statusUrl"/> every second, and its data
    /// from <paramref name="dataUrl"/> every few seconds and when the run ends.
    /// </summary>
    public static string LiveReport(string runId, string dataUrl, string statusUrl) =>
        ReportTemplate.Value.Fill(new Dictionary<string, string>(ReportHoles($"EvalMesh run {runId}", dataUrl, statusUrl)) { ["data"] = "null" });

    /// <summary>The list of runs, which fetches them from <paramref name="apiUrl"/> and refreshes while any is going.</summary>
    public static string RunList(string apiUrl) =>
        RunListTemplate.Value.Fill(new Dictionary<string, string> { ["api"] = apiUrl });

    /// <summary>The silo's sign-in form for its pages: it posts the API key (field <c>key</c>) and the page to go back to (field <c>return</c>) to <paramref name="action"/>.</summary>
    public static string SignIn(string message, string action, string returnPath) =>
        SignInTemplate.Value.Fill(new Dictionary<string, string>
        {
            ["message"] = WebUtility.HtmlEncode(message),
            ["action"] = WebUtility.HtmlEncode(action),
            ["return"] = WebUtility.HtmlEncode(returnPath),
        });

    private static Dictionary<string, string> ReportHoles(string title, string live, string status) => new()
    {
        ["title"] = WebUtility.HtmlEncode(title),
        ["live"] = WebUtility.HtmlEncode(live),
        ["status"] = WebUtility.HtmlEncode(status),
    };

    private static PageTemplate Template(string page, params (string Hole, string Resource)[] scripts) =>
        new(Resource(page), scripts.Append((Hole: "style", Resource: "report.css")).ToDictionary(s => s.Hole, s => Resource(s.Resource)));

    private static string Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"EvalMesh.Client.Html.{name}")
            ?? throw new InvalidOperationException($"the resource {name} is missing from {Assembly.GetExecutingAssembly().GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
