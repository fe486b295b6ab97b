using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EvalMesh.Client;
using Spectre.Console;

namespace EvalMesh.Cli.Commands;

/// <summary><c>evalmesh adapters list|register|evict</c>: LoRA adapters across the cluster.</summary>
internal static class AdaptersCommand
{
    public static Command Create() => new("adapters", "LoRA adapters: where they are resident, registering and evicting them.")
    {
        List(),
        Register(),
        Evict(),
    };

    private static Command List()
    {
        var cluster = new ClusterArguments();
        var command = new Command("list", "Each adapter's residency, loads, hits and evictions per silo, and the registrations.");
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            await using var session = await cluster.ConnectAsync(parse, working: false, cancellationToken);
            var residency = await session.Client.GetResidencyAsync(cancellationToken);
            var registered = await session.Client.ListAdaptersAsync(cancellationToken);
            if (parse.GetValue(cluster.Json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { residency, registered }, ReportWriter.Json));
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumn("adapter").AddColumn("silo").AddColumn("resident").AddColumn("replicas").AddColumn(new TableColumn("loads").RightAligned())
                .AddColumn(new TableColumn("hits").RightAligned()).AddColumn(new TableColumn("evictions").RightAligned()).AddColumn(new TableColumn("queue").RightAligned());
            foreach (var (silo, adapter) in residency.Silos.SelectMany(s => s.Adapters.Select(a => (s.Silo, a))).OrderBy(x => x.a.Key, StringComparer.Ordinal).ThenBy(x => x.Silo, StringComparer.Ordinal))
            {
                table.AddRow(
                    Markup.Escape(adapter.Key.Replace('|', ':')),
                    Markup.Escape(silo),
                    adapter.Resident ? "yes" : "no",
                    residency.ReplicasOf(adapter.Key).ToString(CultureInfo.InvariantCulture),
                    adapter.Loads.ToString(CultureInfo.InvariantCulture),
                    adapter.Hits.ToString(CultureInfo.InvariantCulture),
                    adapter.Evictions.ToString(CultureInfo.InvariantCulture),
                    adapter.Queue.ToString(CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
            foreach (var silo in residency.Silos)
            {
                Console.WriteLine($"{silo.Silo}: {silo.Resident}/{silo.Capacity} adapters resident, {silo.QueueDepth} requests queued");
            }

            foreach (var registration in registered)
            {
                Console.WriteLine($"registered {registration.Model}:{registration.Name} = {registration.Path} (rank {registration.Rank}, alpha {registration.Alpha.ToString(CultureInfo.InvariantCulture)})");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Register()
    {
        var model = new Argument<string>("model") { Description = "The base model's name, such as tiny." };
        var name = new Argument<string>("name") { Description = "The adapter's name; requests then use MODEL:NAME." };
        var path = new Argument<string>("path") { Description = "The adapter GGUF file, readable by every silo (with --server, its path on the silos)." };
        var cluster = new ClusterArguments();
        var command = new Command("register", "Register a LoRA adapter (validated against its base model).") { model, name, path };
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            await using var session = await cluster.ConnectAsync(parse, working: true, cancellationToken);
            // Over HTTP the path is the silos' own, as given; an Orleans client shares the silos' files.
            var file = cluster.IsRemote(parse) ? parse.GetValue(path)! : Path.GetFullPath(parse.GetValue(path)!);
            var registration = await session.Client.RegisterAdapterAsync(parse.GetValue(model)!, parse.GetValue(name)!, file, cancellationToken);
            Console.WriteLine($"registered {registration.Model}:{registration.Name} (rank {registration.Rank}, {registration.Bytes} bytes)");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Evict()
    {
        var adapter = new Argument<string>("adapter") { Description = "MODEL:ADAPTER, such as tiny:adapter-1." };
        var cluster = new ClusterArguments();
        var command = new Command("evict", "Unload an adapter from every silo that holds it and is not using it.") { adapter };
        cluster.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliAction.RunAsync(async () =>
        {
            await using var session = await cluster.ConnectAsync(parse, working: true, cancellationToken);
            var silos = await session.Client.EvictAdapterAsync(parse.GetValue(adapter)!, cancellationToken);
            Console.WriteLine(silos.Count == 0 ? "not resident anywhere (or in use)" : $"evicted from {string.Join(", ", silos)}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
