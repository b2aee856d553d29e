using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IntegrationApi.OpenAICompatible;

/// <summary>
/// The OpenAI-compatible HTTP surface (docs/openai-http.md): its services, its listener (<c>Kestrel:Endpoints:OpenAI</c>)
/// and its routes, which answer on that listener only (404 on the gRPC and operator ports).
/// </summary>
public static class OpenAICompatibleEndpoints
{
    /// <summary>The Kestrel endpoint name of the surface's listener.</summary>
    public const string EndpointName = "OpenAI";

    private static readonly object ListenerKey = new();

    /// <summary>Adds the surface's handlers and options, and marks the connections of its listener (HTTP/1.1 unless configured otherwise).</summary>
    public static IServiceCollection AddOpenAICompatible(this IServiceCollection services)
    {
        services.AddValidatedOptions<OpenAICompatibleOptions, OpenAICompatibleOptionsValidator>("OpenAICompatible");
        services.TryAddSingleton<BearerAuthentication>();
        services.TryAddSingleton<ChatCompletions>();
        services.TryAddSingleton<EmbeddingsEndpoint>();
        services.AddOptions<KestrelServerOptions>().Configure(kestrel => kestrel.ConfigurationLoader?.Endpoint(EndpointName, endpoint =>
        {
            if (endpoint.ConfigSection["Protocols"] is null) endpoint.ListenOptions.Protocols = HttpProtocols.Http1;
            endpoint.ListenOptions.Use(next => connection =>
            {
                connection.Items[ListenerKey] = true;
                return next(connection);
            });
        }));
        return services;
    }

    /// <summary>Maps <c>/v1/chat/completions</c>, <c>/v1/models</c> and <c>/v1/embeddings</c>.</summary>
    public static IEndpointRouteBuilder MapOpenAICompatible(this IEndpointRouteBuilder endpoints)
    {
        var completions = endpoints.ServiceProvider.GetRequiredService<ChatCompletions>();
        var bearer = endpoints.ServiceProvider.GetRequiredService<BearerAuthentication>();
        var models = endpoints.ServiceProvider.GetRequiredService<IOptions<OpenAICompatibleOptions>>().Value.Models
            .Select(m => new ModelEntry(m, m[..m.IndexOf('/')])).ToArray();
        endpoints.MapPost("/v1/chat/completions", OnListener(completions.HandleAsync));
        endpoints.MapGet("/v1/models", OnListener(async context =>
        {
            if (await bearer.AuthenticateAsync(context).ConfigureAwait(false) is null) return;
            await context.Response.WriteAsJsonAsync(new ModelList(models), OpenAIWireContext.Default.ModelList, contentType: "application/json", context.RequestAborted).ConfigureAwait(false);
        }));
        endpoints.MapPost("/v1/embeddings", OnListener(endpoints.ServiceProvider.GetRequiredService<EmbeddingsEndpoint>().HandleAsync));
        return endpoints;
    }

    /// <summary>
    /// The listener callers reach serves the surface's routes only: the operator endpoints (<c>/metrics</c>, health, readiness)
    /// and the gRPC services answer 404 there, so opening it to callers opens nothing else.
    /// </summary>
    public static IApplicationBuilder UseOpenAICompatibleFence(this IApplicationBuilder app) => app.Use((context, next) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(ListenerKey) == true && !context.Request.Path.StartsWithSegments("/v1")
            ? NotFound(context)
            : next(context));

    private static Task NotFound(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    /// <summary>The handler on the surface's listener; elsewhere a 404, as if the route did not exist.</summary>
    private static RequestDelegate OnListener(RequestDelegate handler) => context =>
    {
        if (context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(ListenerKey) == true) return handler(context);
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    };
}
