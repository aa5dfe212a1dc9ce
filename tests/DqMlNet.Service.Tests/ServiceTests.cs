using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace DqMlNet.Tests;

public class ServiceTests(ServiceFixture fixture) : IClassFixture<ServiceFixture>
{
    private static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    private static MultipartFormDataContent Multipart(byte[] bytes, string field = "file", string type = "image/png")
    {
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue(type);
        return new MultipartFormDataContent { { file, field, "image.png" } };
    }

    [Fact]
    public async Task PredictReturnsTheInProcessLabelAndProbabilities()
    {
        using var client = fixture.Factory.CreateClient();
        for (int i = 0; i < fixture.Test.Count; i++)
        {
            var bytes = await File.ReadAllBytesAsync(fixture.Test[i].ImagePath);
            // Alternate multipart upload and raw body.
            using var response = i % 2 == 0
                ? await client.PostAsync("/predict", Multipart(bytes))
                : await client.PostAsync("/predict", new ByteArrayContent(bytes) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var json = await Json(response);
            Assert.Equal(fixture.ExpectedLabels[i], json.GetProperty("label").GetString());
            var probabilities = json.GetProperty("probabilities").EnumerateObject().ToList();
            Assert.Equal(fixture.ClassNames, probabilities.Select(p => p.Name).ToList());
            for (int k = 0; k < probabilities.Count; k++)
                Assert.Equal(fixture.ExpectedScores[i][k], probabilities[k].Value.GetSingle(), 1e-4f);
        }
    }

    [Fact]
    public async Task LargerRgbImagesAreResizedToTheModelSize()
    {
        // A 56×56 RGB upscale of a test image: resized back to 28×28 and read from the red channel.
        using var data = TestData.Load(Data.DatasetSplit.Test, 1);
        var src = data.Images.mul(255).round().to_type(TorchSharp.torch.ScalarType.Byte).data<byte>().ToArray();
        var rgba = new byte[56 * 56 * 4];
        for (int y = 0; y < 56; y++)
        for (int x = 0; x < 56; x++)
        {
            int d = (y * 56 + x) * 4;
            rgba[d] = src[(y / 2) * 28 + x / 2]; rgba[d + 1] = 0; rgba[d + 2] = 255; rgba[d + 3] = 255;
        }
        using var big = Microsoft.ML.Data.MLImage.CreateFromPixels(56, 56, Microsoft.ML.Data.MLPixelFormat.Rgba32, rgba);
        var path = Path.Combine(fixture.Directory, "big.png");
        big.Save(path);
        using var client = fixture.Factory.CreateClient();
        using var response = await client.PostAsync("/predict", Multipart(await File.ReadAllBytesAsync(path)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await Json(response);
        Assert.Contains(json.GetProperty("label").GetString(), fixture.ClassNames);
        Assert.Equal(1.0, json.GetProperty("probabilities").EnumerateObject().Sum(p => p.Value.GetDouble()), 3);
    }

    [Fact]
    public async Task HealthAndModelDescribeTheService()
    {
        using var client = fixture.Factory.CreateClient();
        using var health = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok", (await Json(health)).GetProperty("status").GetString());

        using var response = await client.GetAsync("/model");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await Json(response);
        Assert.Equal("SmallCnn", json.GetProperty("architecture").GetString());
        Assert.Equal("Defensive", json.GetProperty("mode").GetString());
        Assert.Equal(4, json.GetProperty("activationBits").GetInt32());
        Assert.Equal(ServiceFixture.Beta, json.GetProperty("beta").GetDouble(), 9);
        Assert.Equal(new long[] { 1, 28, 28 }, json.GetProperty("inputShape").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        Assert.Equal(fixture.ClassNames, json.GetProperty("classNames").EnumerateArray().Select(e => e.GetString()!).ToList());
        var robustness = json.GetProperty("robustness");
        Assert.Equal(0.75, robustness.GetProperty("cleanAccuracy").GetDouble(), 9);
        Assert.Equal(0.4, robustness.GetProperty("worstCase")[0].GetProperty("robustAccuracy").GetDouble(), 9);
        Assert.Equal("FGSM", robustness.GetProperty("attacks")[0].GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("corrupt-png")]
    [InlineData("not-an-image")]
    [InlineData("empty")]
    public async Task BadImagesGive400WithAClearError(string kind)
    {
        var png = await File.ReadAllBytesAsync(fixture.Test[0].ImagePath);
        byte[] bytes = kind switch
        {
            "corrupt-png" => png.Take(16).Concat(Enumerable.Repeat((byte)0x42, 200)).ToArray(),
            "not-an-image" => "hello, this is text"u8.ToArray(),
            _ => Array.Empty<byte>(),
        };
        using var client = fixture.Factory.CreateClient();
        using var response = await client.PostAsync("/predict", new ByteArrayContent(bytes) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var error = (await Json(response)).GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(error));
        Assert.Contains(kind == "empty" ? "No image" : kind == "not-an-image" ? "PNG or JPEG" : "could not be decoded", error);
    }

    [Fact]
    public async Task MultipartWithoutAFileGives400()
    {
        using var client = fixture.Factory.CreateClient();
        using var content = new MultipartFormDataContent { { new StringContent("x"), "comment" } };
        using var response = await client.PostAsync("/predict", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Missing file field", (await Json(response)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ParallelRequestsGiveConsistentResults()
    {
        using var client = fixture.Factory.CreateClient();
        var images = await Task.WhenAll(fixture.Test.Take(8).Select(t => File.ReadAllBytesAsync(t.ImagePath)));
        var requests = Enumerable.Range(0, 32).Select(async r =>
        {
            int i = r % images.Length;
            using var response = await client.PostAsync("/predict", Multipart(images[i]));
            response.EnsureSuccessStatusCode();
            var json = await Json(response);
            return (i, Label: json.GetProperty("label").GetString(), P: json.GetProperty("probabilities").EnumerateObject().Select(p => p.Value.GetSingle()).ToArray());
        });
        var results = await Task.WhenAll(requests);
        foreach (var (i, label, p) in results)
        {
            Assert.Equal(fixture.ExpectedLabels[i], label);
            for (int k = 0; k < p.Length; k++) Assert.Equal(fixture.ExpectedScores[i][k], p[k], 1e-4f);
        }
    }
}
