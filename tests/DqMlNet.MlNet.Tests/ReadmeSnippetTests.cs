using DqMlNet.Trainers;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace DqMlNet.Tests;

/// <summary>
/// Runs the README's "An ML.NET pipeline" snippet as printed (same options, same data loading, same save) on the PNG
/// fixture, and checks that the README still prints exactly the code between the markers below.
/// </summary>
public class ReadmeSnippetTests(PngFixture png) : IClassFixture<PngFixture>
{
    [Fact]
    public void ReadmePipelineSnippetRunsVerbatim()
    {
        var (usings, code) = ReadmeSnippet();
        Assert.Equal(code, OwnSnippet());
        // The README prints the using directives a reader needs; this file compiles with the same ones.
        var own = OwnUsings();
        Assert.All(usings, u => Assert.Contains(u, own));

        var directory = TestData.TempDirectory();
        var previous = Environment.CurrentDirectory;
        try
        {
            // The snippet's relative paths: images/train with one sub-folder per class, dq4.zip written next to it.
            Directory.CreateDirectory(Path.Combine(directory, "images"));
            Directory.CreateSymbolicLink(Path.Combine(directory, "images", "train"), Path.Combine(png.Directory, "Train"));
            Environment.CurrentDirectory = directory;

            // README begin
            var ml = new MLContext(seed: 0);
            var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
                .Append(ml.Transforms.ResizeImages("Image", 28, 28))
                .Append(ml.Transforms.ExtractPixels("Features", "Image", colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255))
                .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
                .Append(ml.DefensiveQuantize(new DefensiveQuantizationEstimator.Options { ActivationBits = 4, Beta = 2e-3, MaxEpoch = 2 }))
                .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

            var trainView = ml.Data.LoadImageFolder("images/train");            // one sub-folder per class
            var model = pipeline.Fit(trainView);
            ml.Model.Save(model, trainView.Schema, "dq4.zip");                   // loads with plain ml.Model.Load in any process
            // README end

            var test = ml.Data.LoadFromEnumerable(png.Test);
            var predicted = model.Transform(test).GetColumn<string>("PredictedLabel").ToList();
            double accuracy = predicted.Zip(png.Test).Count(p => p.First == p.Second.Label) / (double)png.Test.Count;
            Assert.True(accuracy > 0.3, $"accuracy {accuracy:P1} after two epochs of 600 images"); // chance is 10%
            var reloaded = new MLContext().Model.Load(Path.Combine(directory, "dq4.zip"), out _);
            Assert.Equal(predicted, reloaded.Transform(test).GetColumn<string[]>("PredictedLabel").Select(p => p.Single()).ToList());
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            Directory.Delete(directory, true);
        }
    }

    /// <summary>The snippet's using directives (without their comments) and the code after them.</summary>
    private static (List<string> Usings, string Code) ReadmeSnippet()
    {
        var readme = File.ReadAllLines(Path.Combine(RepositoryRoot(), "README.md"));
        int heading = Array.IndexOf(readme, "## An ML.NET pipeline");
        Assert.True(heading >= 0, "README has no '## An ML.NET pipeline' section");
        int open = Array.IndexOf(readme, "```csharp", heading);
        int close = Array.IndexOf(readme, "```", open + 1);
        var body = readme[(open + 1)..close];
        var usings = body.TakeWhile(l => l.StartsWith("using ", StringComparison.Ordinal) || l.Trim().Length == 0)
            .Where(l => l.Trim().Length > 0).Select(l => l[..(l.IndexOf(';') + 1)]).ToList();
        Assert.NotEmpty(usings); // a snippet compiles as printed only with its using lines
        return (usings, Normalise(body.SkipWhile(l => l.StartsWith("using ", StringComparison.Ordinal) || l.Trim().Length == 0)));
    }

    private static List<string> OwnUsings() =>
        File.ReadAllLines(OwnSource()).Where(l => l.StartsWith("using ", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();

    /// <summary>
    /// The repository's root, found from the test's output folder (a CI build maps source paths to "/_/", so the
    /// compiler's caller file path cannot locate files).
    /// </summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DqMlNet.sln")) && File.Exists(Path.Combine(dir.FullName, "README.md")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"No DqMlNet.sln above {AppContext.BaseDirectory}.");
    }

    private static string OwnSource() => Path.Combine(RepositoryRoot(), "tests", "DqMlNet.MlNet.Tests", "ReadmeSnippetTests.cs");

    private static string OwnSnippet()
    {
        var lines = File.ReadAllLines(OwnSource());
        int begin = Array.FindIndex(lines, l => l.Trim() == "// README begin");
        int end = Array.FindIndex(lines, l => l.Trim() == "// README end");
        return Normalise(lines[(begin + 1)..end]);
    }

    /// <summary>The code without its indentation in this file and without blank-line differences.</summary>
    private static string Normalise(IEnumerable<string> lines)
    {
        var list = lines.Where(l => l.Trim().Length > 0).ToList();
        int indent = list.Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", list.Select(l => l[indent..].TrimEnd()));
    }
}
