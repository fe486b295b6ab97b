using System.Security.Cryptography;
using System.Text;

namespace EvalMesh.Abstractions;

/// <summary>Content addresses: the same content has the same id on every machine.</summary>
public static class ContentId
{
    /// <summary>The first 16 hex digits of the SHA-256 of the text's UTF-8 bytes.</summary>
    public static string Of(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }
}
