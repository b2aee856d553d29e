using Grpc.Core;
using IntegrationApi.Chat;
using IntegrationApi.Providers;
using IntegrationApi.Engine;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.Api;

/// <summary><c>VerifyCredential</c> of the eight provider services.</summary>
internal sealed partial class CredentialCheck(ChatRouting routing, RequestIdGenerator ids, TimeProvider time, ILogger<CredentialCheck> logger)
{
    /// <summary>
    /// Checks a credential with the provider's cheapest authenticated call (the original answered "valid"
    /// without asking for several providers). Failures are an OK call with <c>success=false</c>, as in the original.
    /// </summary>
    public async Task<Proto.VerifyCredentialResponse> VerifyCredentialAsync(Proto.VerifyCredentialRequest request, ServerCallContext context, string provider)
    {
        var verifier = routing.Verifier(provider);
        var requestId = ids.Next();
        ProviderCredential? credential = null;
        using var timeout = new CancellationTokenSource(VerifyTimeout, time);
        using var link = context.CancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timeout);
        try
        {
            credential = ProtoMapping.ToCredential(request.Credential);
            await verifier.VerifyAsync(credential, timeout.Token).ConfigureAwait(false);
            return new Proto.VerifyCredentialResponse { Code = 200, Success = true, RequestId = requestId, Response = "valid" };
        }
        catch (Exception ex) when (ex is ProviderException or ChatRequestException
            || (ex is OperationCanceledException && !context.CancellationToken.IsCancellationRequested))
        {
            var error = ex switch
            {
                ProviderException p => ChatErrors.From(p),
                ChatRequestException r => ChatErrors.From(r),
                _ => ChatErrors.TimedOut("credential check", VerifyTimeout),
            };
            var message = credential?.RedactAndTruncate(error.Message) ?? error.Message;
            return new Proto.VerifyCredentialResponse { Code = error.Code, Success = false, RequestId = requestId, ErrorMessage = message };
        }
        catch (Exception ex) when (!context.CancellationToken.IsCancellationRequested)
        {
            Log.VerifyFailed(logger, requestId, ex);
            var error = ChatErrors.InternalError();
            return new Proto.VerifyCredentialResponse { Code = error.Code, Success = false, RequestId = requestId, ErrorMessage = error.Message };
        }
    }

    private static readonly TimeSpan VerifyTimeout = TimeSpan.FromSeconds(30);

    private static partial class Log
    {
        [LoggerMessage(21, LogLevel.Error, "Credential check {RequestId} failed unexpectedly")]
        public static partial void VerifyFailed(ILogger logger, ulong requestId, Exception exception);
    }
}
