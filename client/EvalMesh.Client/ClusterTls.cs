using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EvalMesh.Evaluation;
using Orleans.Connections.Security;

namespace EvalMesh.Client;

/// <summary>
/// Mutual TLS for silo-to-silo and client-to-silo connections: every party presents the cluster's certificate (a PKCS#12
/// file, self-signed or issued) and accepts only peers that present that same certificate, so a client without it
/// cannot connect.
/// </summary>
public static class ClusterTls
{
    /// <summary>Loads the cluster certificate; <paramref name="setting"/> names where its path came from, for errors.</summary>
    /// <exception cref="EvalMeshInputException">The file is missing, unreadable, or the password is wrong.</exception>
    public static X509Certificate2 Load(string path, string? password, string setting)
    {
        try
        {
            var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
            return certificate.HasPrivateKey ? certificate : throw new EvalMeshInputException("the certificate has no private key", file: path, setting: setting);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new EvalMeshInputException($"cannot load the TLS certificate: {ex.Message}", file: path, setting: setting, innerException: ex);
        }
    }

    /// <summary>Requires the remote side to present <paramref name="certificate"/> too, and presents it.</summary>
    public static void Configure(TlsOptions options, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(certificate);
        var pinned = certificate.GetCertHash(HashAlgorithmName.SHA256);
        options.LocalCertificate = certificate;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = (remote, _, _) => remote is not null && CryptographicOperations.FixedTimeEquals(remote.GetCertHash(HashAlgorithmName.SHA256), pinned);
        options.OnAuthenticateAsClient = (_, ssl) => ssl.TargetHost = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
    }
}
