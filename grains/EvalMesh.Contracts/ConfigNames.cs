using System.Reflection;
using System.Text.Json.Serialization;

namespace EvalMesh.Contracts;

/// <summary>
/// The names a config file (and JSON) uses for the values of an enum that stands for a closed set, read from their
/// <see cref="JsonStringEnumMemberNameAttribute"/>: one list for parsing, for errors that list the choices, and for JSON.
/// </summary>
public static class ConfigNames
{
    /// <summary>Every name of <typeparamref name="T"/>, in declaration order.</summary>
    public static IReadOnlyList<string> All<T>()
        where T : struct, Enum => Names<T>.All;

    /// <summary>The value a name stands for (names are case-sensitive, as in the config file).</summary>
    public static bool TryParse<T>(string name, out T value)
        where T : struct, Enum
    {
        var index = Names<T>.All.IndexOf(name);
        value = index < 0 ? default : Names<T>.Values[index];
        return index >= 0;
    }

    /// <summary>The name of a value.</summary>
    public static string Of<T>(T value)
        where T : struct, Enum => Names<T>.All[Array.IndexOf(Names<T>.Values, value)];

    private static class Names<T>
        where T : struct, Enum
    {
        public static readonly T[] Values = Enum.GetValues<T>();

        public static readonly List<string> All = [.. Values.Select(NameOf)];

        private static string NameOf(T value) =>
            typeof(T).GetField(value.ToString(), BindingFlags.Public | BindingFlags.Static)?.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name
            ?? throw new InvalidOperationException($"{typeof(T).Name}.{value} has no config name");
    }
}
