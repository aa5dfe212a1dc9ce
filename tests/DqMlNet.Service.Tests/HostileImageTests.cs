using System.Diagnostics;
using System.Net;

namespace DqMlNet.Tests;

/// <summary>Images sent by an attacker or a careless client: refused by their header or structure, before decoding.</summary>
public class HostileImageTests(ServiceFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<ServiceFixture>
{
    private static readonly Lazy<byte[]> Huge = new(() => TestImages.OneBitPng(30_000, 30_000));

    [Fact]
    public async Task A30000x30000OneBitPngGets413FastWithoutMemoryGrowth()
    {
        var png = Huge.Value;
        Assert.InRange(png.Length, 50_000, 200_000); // ~110 KB on the wire, 900 MP declared
        using var client = fixture.Factory.CreateClient();
        using (var warm = await client.PostAsync("/predict", Http.Png(png))) Assert.Equal(HttpStatusCode.RequestEntityTooLarge, warm.StatusCode);

        var elapsed = new List<double>();
        for (int attempt = 0; attempt < 3; attempt++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
            long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            long rssBefore = WorkingSet();
            long rssPeak = rssBefore;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    rssPeak = Math.Max(rssPeak, WorkingSet());
                    await Task.Delay(1);
                }
            });

            var clock = Stopwatch.StartNew();
            using var response = await client.PostAsync("/predict", Http.Png(png));
            clock.Stop();
            sampling.Cancel();
            await sampler;
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            long heapGrowth = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
            rssPeak = Math.Max(rssPeak, WorkingSet());

            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            var problem = await Http.Problem(response);
            Assert.Contains("30000 × 30000", problem.GetProperty("detail").GetString());
            Assert.Contains("Model:MaxImagePixels", problem.GetProperty("detail").GetString());
            // Decoding would allocate 3.6 GB (900 MP × 4 bytes) and take seconds; refusing from the header costs the
            // 110 KB body and a few buffers.
            Assert.True(allocated < 50L << 20, $"{allocated:N0} bytes allocated while answering");
            Assert.True(heapGrowth < 50L << 20, $"managed heap grew by {heapGrowth:N0} bytes");
            Assert.True(rssPeak - rssBefore < 50L << 20, $"working set grew by {rssPeak - rssBefore:N0} bytes");
            elapsed.Add(clock.Elapsed.TotalMilliseconds);
            output.WriteLine($"413 in {clock.Elapsed.TotalMilliseconds:F1} ms; allocated {allocated / 1e6:F2} MB, heap growth {heapGrowth / 1e6:F2} MB, " +
                             $"working-set peak growth {(rssPeak - rssBefore) / 1e6:F2} MB ({png.Length:N0}-byte PNG)");
        }
        elapsed.Sort();
        Assert.True(elapsed[1] < 100, $"413 took {string.Join(", ", elapsed.Select(e => e.ToString("F1")))} ms (median must be < 100 ms)");
    }

    [Fact]
    public async Task TheHugePngIsAlsoRefusedAsAMultipartUpload()
    {
        using var client = fixture.Factory.CreateClient();
        var file = new ByteArrayContent(Huge.Value) { Headers = { ContentType = new("image/png") } };
        using var response = await client.PostAsync("/predict", new MultipartFormDataContent { { file, "file", "huge.png" } });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await Http.Problem(response);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(-12)] // everything but the IEND chunk
    [InlineData(-1)]  // the last byte of the IEND CRC missing
    public async Task ATruncatedPngGets400AndIsNotScored(double cut)
    {
        var png = await File.ReadAllBytesAsync(fixture.Test[0].ImagePath);
        int length = cut > 0 ? (int)(png.Length * cut) : png.Length + (int)cut;
        using var client = fixture.Factory.CreateClient();
        using var response = await client.PostAsync("/predict", Http.Png(png[..length]));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = (await Http.Problem(response)).GetProperty("detail").GetString()!;
        Assert.Contains("truncated or corrupt", detail);
        Assert.Contains("could not be decoded", detail);
    }

    [Fact]
    public async Task APngWhosePixelDataStopsEarlyGets400EvenWithValidChunks()
    {
        // Every chunk and CRC is valid, but the compressed data holds 14 of the 28 rows: a decoder would fill the rest.
        var pixels = Enumerable.Range(0, 28 * 28).Select(i => (byte)(i * 7)).ToArray();
        using var client = fixture.Factory.CreateClient();
        using (var full = await client.PostAsync("/predict", Http.Png(TestImages.GreyPng(pixels, 28, 28, rowsInData: 28))))
            Assert.Equal(HttpStatusCode.OK, full.StatusCode);
        using var response = await client.PostAsync("/predict", Http.Png(TestImages.GreyPng(pixels, 28, 28, rowsInData: 14)));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("inflates to", (await Http.Problem(response)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task APngWithACorruptedChunkGets400()
    {
        var png = await File.ReadAllBytesAsync(fixture.Test[0].ImagePath);
        png[png.Length - 20] ^= 0x5A; // inside the last IDAT chunk: its CRC no longer matches
        using var client = fixture.Factory.CreateClient();
        using var response = await client.PostAsync("/predict", Http.Png(png));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("CRC", (await Http.Problem(response)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task APngWithValidCrcsButBrokenCompressedDataGets400()
    {
        // Found by fuzzing: every chunk CRC matches, but the zlib stream in IDAT is damaged (zlib threw an IOException
        // subtype, which used to escape as a 500).
        var png = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "fuzz", "png-corrupt-deflate-valid-crcs.png"));
        using var client = fixture.Factory.CreateClient();
        using var response = await client.PostAsync("/predict", Http.Png(png));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("compressed pixel data", (await Http.Problem(response)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task JpegsAreCheckedForSizeAndCompleteness()
    {
        var jpeg = Jpeg();
        using var client = fixture.Factory.CreateClient();
        using (var ok = await client.PostAsync("/predict", Http.Jpeg(jpeg)))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Contains((await Http.Json(ok)).GetProperty("label").GetString(), fixture.ClassNames);
        }

        using (var truncated = await client.PostAsync("/predict", Http.Jpeg(jpeg[..(jpeg.Length * 2 / 3)])))
        {
            Assert.Equal(HttpStatusCode.BadRequest, truncated.StatusCode);
            Assert.Contains("end-of-image", (await Http.Problem(truncated)).GetProperty("detail").GetString());
        }

        // The same file with the frame header claiming 65,535 × 65,535 pixels: refused from the header.
        var huge = (byte[])jpeg.Clone();
        int sof = FindFrameHeader(huge);
        huge[sof + 5] = huge[sof + 6] = huge[sof + 7] = huge[sof + 8] = 0xFF;
        using var tooLarge = await client.PostAsync("/predict", Http.Jpeg(huge));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Contains("65535 × 65535", (await Http.Problem(tooLarge)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ABodyOverMaxImageBytesGets413()
    {
        using var factory = fixture.CreateFactory(new Dictionary<string, string> { ["Model:MaxImageBytes"] = "1000" });
        using var client = factory.CreateClient();
        using var response = await client.PostAsync("/predict", Http.Png(new byte[5000]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("Model:MaxImageBytes", (await Http.Problem(response)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task APixelCapFromConfigurationApplies()
    {
        // A 28×28 image against a cap of 700 pixels: 784 > 700.
        using var factory = fixture.CreateFactory(new Dictionary<string, string> { ["Model:MaxImagePixels"] = "700" });
        using var client = factory.CreateClient();
        using var response = await client.PostAsync("/predict", Http.Png(await File.ReadAllBytesAsync(fixture.Test[0].ImagePath)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("28 × 28 = 784 pixels", (await Http.Problem(response)).GetProperty("detail").GetString());
    }

    private byte[] Jpeg()
    {
        using var data = TestData.Load(Data.DatasetSplit.Test, 1);
        var grey = data.Images.mul(255).round().to_type(TorchSharp.torch.ScalarType.Byte).data<byte>().ToArray();
        var rgba = grey.SelectMany(v => new[] { v, v, v, (byte)255 }).ToArray();
        using var image = Microsoft.ML.Data.MLImage.CreateFromPixels(28, 28, Microsoft.ML.Data.MLPixelFormat.Rgba32, rgba);
        var path = Path.Combine(fixture.Directory, $"jpeg-{Guid.NewGuid():N}.jpg");
        image.Save(path);
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes[0] == 0xFF && bytes[1] == 0xD8, "MLImage.Save(.jpg) wrote a JPEG");
        return bytes;
    }

    /// <summary>Index of the SOFn marker's 0xFF byte (baseline or progressive frame header).</summary>
    private static int FindFrameHeader(byte[] jpeg)
    {
        for (int i = 2; i + 1 < jpeg.Length; i++)
            if (jpeg[i] == 0xFF && jpeg[i + 1] is 0xC0 or 0xC1 or 0xC2) return i;
        throw new InvalidDataException("No frame header.");
    }

    private static long WorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
