using Microsoft.AspNetCore.Http;

namespace DqMlNet.Tests;

/// <summary>Fault injection around POST /predict, registered by a test host as an <see cref="IEndpointFilter"/> service.</summary>
internal sealed class ThrowingFilter : IEndpointFilter
{
    public const string Header = "X-Test-Fault";
    public const string Secret = "secret internal state 42";

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        context.HttpContext.Request.Headers.ContainsKey(Header) ? throw new InvalidOperationException(Secret) : next(context);
}

/// <summary>Holds every POST /predict for <see cref="Delay"/> before it is read and scored (observing the request's token).</summary>
internal sealed class DelayFilter(TimeSpan delay) : IEndpointFilter
{
    private int entered;

    public TimeSpan Delay => delay;

    public int Entered => Volatile.Read(ref entered);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        Interlocked.Increment(ref entered);
        await Task.Delay(delay, context.HttpContext.RequestAborted);
        return await next(context);
    }
}
