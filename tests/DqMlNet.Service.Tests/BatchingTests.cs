using System.Net;

namespace DqMlNet.Tests;

/// <summary>Micro-batching changes how many images go into one model call, never the numbers.</summary>
public class BatchingTests(ServiceFixture fixture) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task BatchedScoringEqualsUnbatchedAndTheMlNetPipeline()
    {
        var images = await Task.WhenAll(fixture.Test.Select(t => File.ReadAllBytesAsync(t.ImagePath)));

        // Unbatched: one image per model call, one request at a time.
        using var single = fixture.CreateFactory(new Dictionary<string, string> { ["Batching:MaxBatchSize"] = "1" });
        using var singleClient = single.CreateClient();
        var alone = new float[images.Length][];
        for (int i = 0; i < images.Length; i++)
        {
            using var response = await singleClient.PostAsync("/predict", Http.Png(images[i]));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            alone[i] = Http.Probabilities(await Http.Json(response));
        }

        // Batched: all requests at once, a generous wait so that batches form even on a busy machine.
        using var batched = fixture.CreateFactory(new Dictionary<string, string>
        {
            ["Batching:MaxBatchSize"] = "16", ["Batching:MaxWaitMilliseconds"] = "50",
        });
        using var batchedClient = batched.CreateClient();
        var together = await Task.WhenAll(images.Select(async bytes =>
        {
            using var response = await batchedClient.PostAsync("/predict", Http.Png(bytes));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return Http.Probabilities(await Http.Json(response));
        }));

        using var metrics = await batchedClient.GetAsync("/metrics");
        var counters = (await Http.Json(metrics)).GetProperty("counters");
        var sizes = counters.GetProperty("batchSizes").EnumerateObject().ToDictionary(p => int.Parse(p.Name), p => p.Value.GetInt64());
        Assert.Equal(images.Length, sizes.Sum(s => s.Key * s.Value));
        Assert.True(sizes.Keys.Max() > 1, $"no batch formed: sizes {string.Join(", ", sizes)}");
        Assert.True(sizes.Keys.Max() <= 16);

        for (int i = 0; i < images.Length; i++)
        {
            // Bit-identical: the model scores each image of a batch independently.
            Assert.Equal(alone[i], together[i]);
            // The ML.NET pipeline the model was trained in (LoadImages → ResizeImages → ExtractPixels → DQ stage).
            Assert.Equal(fixture.ExpectedScores[i], alone[i]);
        }
    }
}
