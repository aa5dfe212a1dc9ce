using DqMlNet.Data;
using DqMlNet.Evaluators;
using DqMlNet.Models;
using DqMlNet.Trainers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace DqMlNet.Tests;

/// <summary>
/// Writes fixture images as PNG files, trains a small DQ-4 model on them (1 epoch, seconds) through the usual ML.NET
/// image pipeline, saves it to a temp zip (with a robustness report and training sidecar next to it) and starts the
/// scoring service on that zip in-process.
/// </summary>
public sealed class ServiceFixture : IDisposable
{
    public const double Beta = 2e-3;

    public ServiceFixture()
    {
        Directory = TestData.TempDirectory();
        Train = WritePngs(DatasetSplit.Train, 300);
        Test = WritePngs(DatasetSplit.Test, 40);

        var ml = new MLContext(seed: 0);
        var trainView = ml.Data.LoadFromEnumerable(Train);
        var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
            .Append(ml.Transforms.ResizeImages("Image", 28, 28))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255))
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.DefensiveQuantize(new DefensiveQuantizationEstimator.Options
            {
                Mode = TrainingMode.Defensive, ActivationBits = 4, Beta = Beta, MaxEpoch = 1, BatchSize = 64, Seed = 1, Threads = TestData.Threads,
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(trainView);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(Test));
        ExpectedLabels = scored.GetColumn<string>("PredictedLabel").ToList();
        ExpectedScores = scored.GetColumn<float[]>("Score").ToList();
        VBuffer<ReadOnlyMemory<char>> slots = default;
        scored.Schema["Score"].GetSlotNames(ref slots);
        ClassNames = slots.DenseValues().Select(s => s.ToString()).ToList();

        ModelPath = Path.Combine(Directory, "dq4.zip");
        ml.Model.Save(model, trainView.Schema, ModelPath);
        File.WriteAllText(Path.Combine(Directory, "dq4.training.json"), $"{{\"mode\":\"dq\",\"beta\":{Beta}}}");
        ReportWriter.WriteJson(new RobustnessReport
        {
            Model = "SmallCnn DQ-4", N = 40, CleanAccuracy = 0.75,
            Attacks = new[] { new AttackResult { Name = "FGSM", Epsilon = 0.1, RobustAccuracy = 0.4 } },
            WorstCase = new[] { new WorstCaseResult(0.1, 0.4, new[] { "FGSM" }) },
        }, Path.Combine(Directory, "dq4.robustness.json"));

        Factory = CreateFactory();
    }

    /// <summary>
    /// A service on the fixture's model with extra configuration (e.g. "Limits:ConcurrentRequests") and services (e.g.
    /// an <see cref="IEndpointFilter"/> around POST /predict); <paramref name="kestrel"/> serves over real sockets.
    /// </summary>
    public WebApplicationFactory<Program> CreateFactory(IReadOnlyDictionary<string, string>? settings = null,
        Action<IServiceCollection>? services = null, bool kestrel = false)
    {
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Model:Path", ModelPath);
            foreach (var (key, value) in settings ?? new Dictionary<string, string>()) b.UseSetting(key, value);
            if (services is not null) b.ConfigureServices(services);
        });
        if (kestrel) factory.UseKestrel(0);
        return factory;
    }

    public string Directory { get; }

    public string ModelPath { get; }

    public IReadOnlyList<ImageFile> Train { get; }

    public IReadOnlyList<ImageFile> Test { get; }

    public IReadOnlyList<string> ExpectedLabels { get; }

    public IReadOnlyList<float[]> ExpectedScores { get; }

    public IReadOnlyList<string> ClassNames { get; }

    public WebApplicationFactory<Program> Factory { get; }

    private IReadOnlyList<ImageFile> WritePngs(DatasetSplit split, int count)
    {
        using var data = TestData.Load(split, count);
        var pixels = data.Images.mul(255).round().to_type(TorchSharp.torch.ScalarType.Byte).data<byte>().ToArray();
        var labels = data.Labels.data<long>().ToArray();
        var rows = new List<ImageFile>();
        for (int i = 0; i < count; i++)
        {
            var folder = System.IO.Directory.CreateDirectory(Path.Combine(Directory, split.ToString())).FullName;
            var path = Path.Combine(folder, $"{i:D4}.png");
            GreyPng.Save(pixels.AsSpan(i * 784, 784), path);
            rows.Add(new ImageFile { ImagePath = path, Label = FashionMnist.ClassNames[(int)labels[i]] });
        }
        return rows;
    }

    public void Dispose()
    {
        Factory.Dispose();
        System.IO.Directory.Delete(Directory, true);
    }
}

public sealed class ImageFile
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}
