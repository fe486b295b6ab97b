using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using EvalMesh.Evaluation;

namespace EvalMesh.Cli;

/// <summary>
/// A command line that does not parse is bad input (exit code 2), told in one line: the first problem, the closest
/// option or command when a word is unknown, and where the help is; never the whole help. <c>--help</c> still shows it.
/// </summary>
internal static class ParseErrors
{
    /// <summary>The one line that describes what is wrong with the command line, or null when it parsed (or asks for help).</summary>
    public static string? Describe(ParseResult parse)
    {
        if (parse.Errors.Count == 0 || parse.Action is HelpAction)
        {
            return null;
        }

        var command = parse.CommandResult.Command;
        var help = $"see '{string.Join(' ', Path(parse.CommandResult))} --help'";
        if ((Misspelt(parse) ?? (parse.UnmatchedTokens.Count > 0 ? parse.UnmatchedTokens[0] : null)) is not { } unknown)
        {
            return $"{parse.Errors[0].Message.TrimEnd('.')}; {help}";
        }

        var isOption = unknown.StartsWith('-');
        var name = isOption ? unknown.Split('=', 2)[0] : unknown;
        var candidates = isOption
            ? command.Options.Concat(parse.RootCommandResult.Command.Options.Where(o => o.Recursive)).SelectMany(o => o.Aliases.Prepend(o.Name))
            : command.Subcommands.Select(c => c.Name);
        var closest = Closest.Of(name, candidates.Where(c => !c.StartsWith('/')));
        var what = isOption ? "option" : command.Subcommands.Count > 0 ? "command" : "argument";
        return $"unknown {what} '{EvalMeshInputException.Shown(name)}'{(closest is null ? string.Empty : $" (did you mean '{closest}'?)")}; {help}";
    }

    // A misspelt option before the command's argument is taken for that argument (and what follows is left over), so
    // the first word that looks like an option and is no option's value is the one to name.
    private static string? Misspelt(ParseResult parse)
    {
        var tokens = parse.Tokens;
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i] is { Type: TokenType.Argument, Value: ['-', '-', _, ..] } && (i == 0 || tokens[i - 1].Type != TokenType.Option))
            {
                return tokens[i].Value;
            }
        }

        return null;
    }

    // The words that name the command: evalmesh, then each subcommand down to the one that was parsed.
    private static IEnumerable<string> Path(CommandResult result)
    {
        var names = new Stack<string>();
        for (SymbolResult? at = result; at is CommandResult command; at = at.Parent)
        {
            names.Push(command.Parent is null ? "evalmesh" : command.Command.Name);
        }

        return names;
    }
}
