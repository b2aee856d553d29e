namespace IntegrationApi.Auth;

/// <summary>Why a call was refused a principal: a small fixed set, the <c>reason</c> tag of <c>integration_api.auth.failures</c>.</summary>
public enum AuthFailure
{
    /// <summary>Authenticated.</summary>
    None,
    /// <summary>Neither <c>x-internal-service-key</c> nor <c>x-api-key</c> was sent.</summary>
    Missing,
    /// <summary>The JWT does not parse, is not HS256, its signature does not match, or no JWT secret is configured.</summary>
    InvalidToken,
    /// <summary>The JWT verified but lacks <c>exp</c>, <c>organizationId</c> or <c>projectId</c>.</summary>
    MissingClaims,
    /// <summary>The JWT is past its <c>exp</c> (plus the clock skew).</summary>
    Expired,
    /// <summary>The JWT's <c>nbf</c> or <c>iat</c> is in the future (beyond the clock skew).</summary>
    NotYetValid,
    /// <summary>The project API key is neither configured nor stored (or was revoked).</summary>
    UnknownKey,
    /// <summary>The stored-key database could not be read (the call ends Unavailable, not Unauthenticated).</summary>
    StoreUnavailable,
}

/// <summary>The tag and log spelling of <see cref="AuthFailure"/>.</summary>
public static class AuthFailureNames
{
    public static string Name(this AuthFailure reason) => reason switch
    {
        AuthFailure.None => "none",
        AuthFailure.Missing => "missing",
        AuthFailure.InvalidToken => "invalid_token",
        AuthFailure.MissingClaims => "missing_claims",
        AuthFailure.Expired => "expired",
        AuthFailure.NotYetValid => "not_yet_valid",
        AuthFailure.UnknownKey => "unknown_key",
        AuthFailure.StoreUnavailable => "store_unavailable",
        _ => "other",
    };
}
