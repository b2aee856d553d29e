using System.Globalization;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using IntegrationApi.Api;
using IntegrationApi.Chat;
using IntegrationApi.Embeddings;
using IntegrationApi.Engine;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Proto = IntegrationApi.Contracts;

namespace IntegrationApi.OpenAICompatible;

/// <summary>
/// <c>POST /v1/embeddings</c>: the body becomes the contract's <c>EmbeddingRequest</c> (index i = the i-th input) and runs
/// through the gRPC surface's own <see cref="EmbeddingApi"/> (batches, retries, limits, audit); its response becomes
/// OpenAI's <c>list</c> of <c>embedding</c>s, floats or base64 as asked.
/// </summary>
internal sealed class EmbeddingsEndpoint(EmbeddingApi api, BearerAuthentication bearer, IOptions<OpenAICompatibleOptions> options)
{
    public async Task HandleAsync(HttpContext context)
    {
        if (await bearer.AuthenticateAsync(context).ConfigureAwait(false) is not { } principal) return;
        var maxBytes = options.Value.MaxRequestBodyBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = maxBytes;
        EmbeddingsBody? body;
        Proto.EmbeddingRequest request;
        try
        {
            body = await JsonSerializer.DeserializeAsync(context.Request.Body, OpenAIWireContext.Default.EmbeddingsBody, context.RequestAborted).ConfigureAwait(false);
            request = ToRequest(body ?? throw new ChatRequestException("the request body must be a JSON object"), context.Request.Headers);
        }
        catch (JsonException ex)
        {
            await RefuseAsync(context, principal, $"the request body is not a valid embeddings request (at JSON path {ex.Path ?? "$"}, line {ex.LineNumber})").ConfigureAwait(false);
            return;
        }
        catch (ChatRequestException ex)
        {
            await RefuseAsync(context, principal, ex.Message).ConfigureAwait(false);
            return;
        }
        catch (BadHttpRequestException ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            await OpenAIErrors.WriteAsync(context, ex.StatusCode, ex.StatusCode == 413 ? $"the request body is larger than {maxBytes} bytes" : "the request body could not be read").ConfigureAwait(false);
            return;
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested) { return; }

        Proto.EmbeddingResponse response;
        try { response = await api.RunAsync(request, new HttpCallContext(context, principal), null).ConfigureAwait(false); }
        catch (RpcException) when (context.RequestAborted.IsCancellationRequested) { return; } // recorded as cancelled; nobody to answer
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
        {
            await OpenAIErrors.WriteAsync(context, 503, "the server is shutting down; retry", "unavailable").ConfigureAwait(false);
            return;
        }
        context.Response.Headers["x-request-id"] = response.RequestId.ToString(CultureInfo.InvariantCulture);
        if (!response.Success)
        {
            await OpenAIErrors.WriteAsync(context, response.Code, response.Error?.ErrorMessage ?? "the request failed").ConfigureAwait(false);
            return;
        }
        await WriteAsync(context, response, body.Model!).ConfigureAwait(false);
    }

    private static Proto.EmbeddingRequest ToRequest(EmbeddingsBody body, IHeaderDictionary headers)
    {
        var (provider, model) = OpenAIRequestMapping.SplitModel(body.Model, "model");
        var request = new Proto.EmbeddingRequest
        {
            ProviderName = provider,
            Credential = OpenAIRequestMapping.Credential(headers, provider, primary: true)
                ?? throw new ChatRequestException($"the provider credential is required: header {OpenAIRequestMapping.ProviderKeyHeader} or {OpenAIRequestMapping.ProviderCredentialHeader}"),
        };
        switch (body.Input)
        {
            case { ValueKind: JsonValueKind.String } one:
                request.Content[0] = one.GetString()!;
                break;
            case { ValueKind: JsonValueKind.Array } many:
                var i = 0;
                foreach (var item in many.EnumerateArray())
                    request.Content[i++] = item.ValueKind == JsonValueKind.String ? item.GetString()! : throw new ChatRequestException("input must be a string or an array of strings (token arrays are not supported)");
                break;
            default:
                throw new ChatRequestException("input must be a string or an array of strings");
        }
        var p = request.ModelParameters;
        p[ModelParameters.Name] = Any.Pack(Value.ForString(model));
        if (body.Dimensions is { } dimensions) p[EmbeddingOptions.DimensionsKey] = Any.Pack(Value.ForNumber(dimensions));
        if (body.EncodingFormat is { } format) p[EmbeddingOptions.EncodingFormatKey] = Any.Pack(Value.ForString(format));
        if (body.User is { } user) p[ModelParameters.User] = Any.Pack(Value.ForString(user));
        return request;
    }

    /// <summary>OpenAI's answer, written directly: an entry's <c>embedding</c> is a number array or a base64 string.</summary>
    private static async Task WriteAsync(HttpContext context, Proto.EmbeddingResponse response, string model)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            foreach (var e in response.Data)
            {
                json.WriteStartObject();
                json.WriteString("object", "embedding");
                json.WriteNumber("index", e.Index);
                if (e.Base64.Length > 0) json.WriteString("embedding", e.Base64);
                else
                {
                    json.WriteStartArray("embedding");
                    foreach (var x in e.Embedding_) json.WriteNumberValue(x);
                    json.WriteEndArray();
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("model", model);
            json.WriteStartObject("usage");
            json.WriteNumber("prompt_tokens", Tokens(response, Proto.MetricNames.InputTokens));
            json.WriteNumber("total_tokens", Tokens(response, Proto.MetricNames.TotalTokens));
            json.WriteEndObject();
            json.WriteEndObject();
        }
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static long Tokens(Proto.EmbeddingResponse response, string name) =>
        response.Metrics.FirstOrDefault(m => m.Name == name) is { } m && long.TryParse(m.Value, CultureInfo.InvariantCulture, out var n) ? n : 0;

    /// <summary>A 400 for a body that is not a request, with the audit record every refused call leaves.</summary>
    private async Task RefuseAsync(HttpContext context, Auth.CallerPrincipal principal, string message)
    {
        var refused = api.Refuse(new Proto.EmbeddingRequest(), new HttpCallContext(context, principal), ChatErrors.From(new ChatRequestException(message)));
        context.Response.Headers["x-request-id"] = refused.RequestId.ToString(CultureInfo.InvariantCulture);
        await OpenAIErrors.WriteAsync(context, 400, message).ConfigureAwait(false);
    }
}
