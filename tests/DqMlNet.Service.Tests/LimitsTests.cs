using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace DqMlNet.Tests;

/// <summary>Load shedding, timeouts and error bodies, on a real Kestrel server where concurrency matters.</summary>
public class LimitsTests(ServiceFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task SixtyFourClientsOverAFourSlotLimiterGetOnly200sAnd503s()
    {
        using var factory = fixture.CreateFactory(new Dictionary<string, string>
        {
            ["Limits:ConcurrentRequests"] = "4", ["Limits:QueuedRequests"] = "0", ["Limits:RetryAfterSeconds"] = "2",
        }, kestrel: true);
        factory.StartServer();
        var images = await Task.WhenAll(fixture.Test.Take(8).Select(t => File.ReadAllBytesAsync(t.ImagePath)));
        using var client = factory.CreateClient();
        var statuses = new ConcurrentBag<HttpStatusCode>();
        var failures = new ConcurrentBag<string>();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clients = Enumerable.Range(0, 64).Select(c => Task.Run(async () =>
        {
            await start.Task; // all 64 clients send their first request together
            for (int r = 0; r < 5; r++)
            {
                int i = (c + r) % images.Length;
                using var response = await client.PostAsync("/predict", Http.Png(images[i]));
                statuses.Add(response.StatusCode);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var json = await Http.Json(response);
                    if (json.GetProperty("label").GetString() != fixture.ExpectedLabels[i]) failures.Add($"image {i}: wrong label");
                }
                else if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    if (response.Headers.RetryAfter?.Delta != TimeSpan.FromSeconds(2)) failures.Add("503 without Retry-After: 2");
                    var problem = await Http.Problem(response);
                    if (!problem.GetProperty("detail").GetString()!.Contains("4 scoring slots")) failures.Add("503 detail");
                }
            }
        })).ToList();
        start.SetResult();
        await Task.WhenAll(clients);

        Assert.Empty(failures);
        Assert.Equal(320, statuses.Count);
        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"unexpected {s}"));
        int ok = statuses.Count(s => s == HttpStatusCode.OK), shed = statuses.Count(s => s == HttpStatusCode.ServiceUnavailable);
        output.WriteLine($"{ok} × 200, {shed} × 503 of {statuses.Count}");
        Assert.True(ok >= 1 && shed >= 1, $"{ok} × 200, {shed} × 503");
        using var metrics = await client.GetAsync("/metrics");
        var counters = (await Http.Json(metrics)).GetProperty("counters");
        Assert.Equal(shed, counters.GetProperty("rejected").GetInt64());
        Assert.Equal(ok, counters.GetProperty("images").GetInt64());
    }

    [Fact]
    public async Task ARequestOverItsTimeBudgetGets503WithProblemJson()
    {
        var delay = new DelayFilter(TimeSpan.FromSeconds(30));
        using var factory = fixture.CreateFactory(
            new Dictionary<string, string> { ["Limits:RequestTimeoutSeconds"] = "0.5" },
            services => services.AddSingleton<IEndpointFilter>(delay), kestrel: true);
        factory.StartServer();
        using var client = factory.CreateClient();
        var clock = Stopwatch.StartNew();
        using var response = await client.PostAsync("/predict", Http.Png(await File.ReadAllBytesAsync(fixture.Test[0].ImagePath)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("Limits:RequestTimeoutSeconds", (await Http.Problem(response)).GetProperty("detail").GetString());
        Assert.Equal(1, delay.Entered);
    }

    [Fact]
    public async Task AnInternalErrorGetsProblemJsonWithoutInternals()
    {
        using var factory = fixture.CreateFactory(services: s => s.AddSingleton<IEndpointFilter>(new ThrowingFilter()));
        using var client = factory.CreateClient();
        var bytes = await File.ReadAllBytesAsync(fixture.Test[0].ImagePath);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = Http.Png(bytes), Headers = { { ThrowingFilter.Header, "1" } } };
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var problem = await Http.Problem(response);
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("traceId").GetString()));
        var body = problem.GetRawText();
        Assert.DoesNotContain(ThrowingFilter.Secret, body);
        Assert.DoesNotContain("InvalidOperationException", body);

        // The service keeps serving.
        using var next = await client.PostAsync("/predict", Http.Png(bytes));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task UnknownRoutesAndWrongMethodsGetProblemJson()
    {
        using var client = fixture.Factory.CreateClient();
        using var missing = await client.GetAsync("/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        await Http.Problem(missing);
        using var wrongMethod = await client.GetAsync("/predict");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        await Http.Problem(wrongMethod);
    }

    [Theory]
    [InlineData("Limits:ConcurrentRequests", "0")]
    [InlineData("Batching:MaxBatchSize", "0")]
    [InlineData("Model:MaxImagePixels", "-1")]
    public void AnInvalidLimitStopsTheServiceAtStartNamingTheKey(string key, string value)
    {
        using var factory = fixture.CreateFactory(new Dictionary<string, string> { [key] = value });
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains(key, error.ToString());
    }
}
