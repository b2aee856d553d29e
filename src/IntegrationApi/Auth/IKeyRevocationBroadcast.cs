namespace IntegrationApi.Auth;

/// <summary>Tells every instance that a stored key was revoked, so their open streams refuse it at once (docs/scaling.md).</summary>
public interface IKeyRevocationBroadcast
{
    /// <summary>Announces the revocation of the key with this hash; never throws (the re-check interval is the bound when it cannot be sent).</summary>
    void Publish(string sha256);
}
