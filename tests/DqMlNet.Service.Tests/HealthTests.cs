using System.Net;

namespace DqMlNet.Tests;

public class HealthTests(ServiceFixture fixture) : IClassFixture<ServiceFixture>
{
    [Theory]
    [InlineData("/health")]
    [InlineData("/health/live")]
    public async Task LivenessAnswersWithoutTouchingTheModel(string path)
    {
        using var client = fixture.Factory.CreateClient();
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await Http.Json(response);
        Assert.Equal("ok", json.GetProperty("status").GetString());
        Assert.Equal("dq4.zip", json.GetProperty("model").GetString());
        Assert.Equal(["process"], json.GetProperty("checks").EnumerateObject().Select(c => c.Name).ToArray());
    }

    [Fact]
    public async Task ReadinessScoresTheProbeImageThroughTheBatcher()
    {
        using var factory = fixture.CreateFactory(new Dictionary<string, string> { ["Health:ProbeCacheSeconds"] = "0" });
        using var client = factory.CreateClient();
        for (int probe = 1; probe <= 2; probe++)
        {
            using var response = await client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var json = await Http.Json(response);
            Assert.Equal("ok", json.GetProperty("status").GetString());
            var model = json.GetProperty("checks").GetProperty("model");
            Assert.Equal("ok", model.GetProperty("status").GetString());
            Assert.Contains(model.GetProperty("data").GetProperty("probeLabel").GetString(), fixture.ClassNames);

            // Each probe (no caching here) is one image through the model.
            using var metrics = await client.GetAsync("/metrics");
            Assert.Equal(probe, (await Http.Json(metrics)).GetProperty("counters").GetProperty("images").GetInt64());
        }
    }

    [Fact]
    public async Task ReadinessResultsAreCachedSoProbesCannotLoadTheModel()
    {
        using var factory = fixture.CreateFactory(new Dictionary<string, string> { ["Health:ProbeCacheSeconds"] = "60" });
        using var client = factory.CreateClient();
        for (int i = 0; i < 5; i++)
        {
            using var response = await client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using var metrics = await client.GetAsync("/metrics");
        Assert.Equal(1, (await Http.Json(metrics)).GetProperty("counters").GetProperty("images").GetInt64());
    }
}
