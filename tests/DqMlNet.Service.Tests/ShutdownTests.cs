using System.Net;
using DqMlNet.Samples.ScoringService;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace DqMlNet.Tests;

public class ShutdownTests(ServiceFixture fixture) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task ShutdownDrainsRequestsInFlightBeforeTheModelIsReleased()
    {
        var delay = new DelayFilter(TimeSpan.FromSeconds(1.5));
        var factory = fixture.CreateFactory(new Dictionary<string, string> { ["Limits:ShutdownTimeoutSeconds"] = "30" },
            services => services.AddSingleton<IEndpointFilter>(delay), kestrel: true);
        factory.StartServer();
        var model = factory.Services.GetRequiredService<ScoringModel>();
        // A client of our own: the factory disposes the clients it created when it is disposed.
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address) };
        var images = await Task.WhenAll(fixture.Test.Take(3).Select(t => File.ReadAllBytesAsync(t.ImagePath)));
        var inFlight = images.Select(async (bytes, i) =>
        {
            using var response = await client.PostAsync("/predict", Http.Png(bytes));
            return (i, response.StatusCode, Body: response.StatusCode == HttpStatusCode.OK ? await Http.Json(response) : default);
        }).ToList();
        while (delay.Entered < images.Length) await Task.Delay(10);

        // Stop the host while the three requests wait in the filter: they still reach the model and get their answer.
        var stopping = factory.DisposeAsync().AsTask();
        var results = await Task.WhenAll(inFlight);
        await stopping;

        foreach (var (i, status, body) in results)
        {
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(fixture.ExpectedScores[i], Http.Probabilities(body));
        }
        // The host releases its singletons after the server stopped; the factory's DisposeAsync can return a moment earlier.
        for (int i = 0; i < 100 && !model.IsDisposed; i++) await Task.Delay(100);
        Assert.True(model.IsDisposed, "the model is released once the server has stopped");
        Assert.Throws<ObjectDisposedException>(() => model.Score(new float[model.PixelsPerImage], 1));
    }
}
