using System.Text.Json;
using DqMlNet.Cli;
using DqMlNet.Data;
using DqMlNet.Evaluators;
using DqMlNet.Transforms.Onnx;

namespace DqMlNet.Tests;

/// <summary>Side files name their model by the SHA-256 of its bytes; a side file of another model is ignored with a warning.</summary>
public sealed class SideFileTests : IClassFixture<TrainedModel>, IDisposable
{
    private readonly TrainedModel trained;
    private readonly string dir = TestData.TempDirectory();

    public SideFileTests(TrainedModel trained) => this.trained = trained;

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void HashIsTheSha256OfTheBytes()
    {
        var file = Path.Combine(dir, "abc.bin");
        File.WriteAllText(file, "abc");
        const string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; // FIPS 180-2 test vector
        Assert.Equal(abc, SideFile.Sha256(file));
        Assert.Equal(abc, SideFile.Sha256("abc"u8));
        Assert.Equal(Path.Combine(dir, "abc.training.json"), SideFile.PathFor(file, ".training.json"));
    }

    [Fact]
    public void MatchComparesTheRecordedHash()
    {
        var model = Path.Combine(dir, "m.zip");
        File.WriteAllText(model, "model bytes");
        var hash = SideFile.Sha256(model);
        var side = Path.Combine(dir, "m.training.json");
        Assert.Equal(SideFileMatch.Missing, SideFile.Match(side, hash, out _));

        var cases = new (string Json, SideFileMatch Expected)[]
        {
            ($"{{\"modelSha256\":\"{hash}\",\"beta\":0.002}}", SideFileMatch.Matches),
            ($"{{\"modelSha256\":\"{hash.ToUpperInvariant()}\"}}", SideFileMatch.Matches),
            ("{\"beta\":0.002}", SideFileMatch.Unverified),
            ("{\"modelSha256\":null}", SideFileMatch.Unverified),
            ($"{{\"modelSha256\":\"{new string('0', 64)}\"}}", SideFileMatch.Mismatch),
            ("{\"modelSha256\":42}", SideFileMatch.Unreadable),
            ("[1, 2]", SideFileMatch.Unreadable),
            ("{ not json", SideFileMatch.Unreadable),
        };
        foreach (var (json, expected) in cases)
        {
            File.WriteAllText(side, json);
            Assert.Equal(expected, SideFile.Match(side, hash, out _));
            var warnings = new List<string>();
            bool belongs = SideFile.BelongsTo(side, model, warnings.Add);
            Assert.Equal(expected is SideFileMatch.Matches or SideFileMatch.Unverified, belongs);
            Assert.Equal(expected == SideFileMatch.Matches ? 0 : 1, warnings.Count);
            if (expected == SideFileMatch.Mismatch) Assert.Contains("Ignoring 'm.training.json'", warnings[0]);
        }

        // A retrained model under the same name: the old side file no longer belongs to it.
        File.WriteAllText(side, $"{{\"modelSha256\":\"{hash}\"}}");
        File.WriteAllText(model, "retrained model bytes");
        var after = new List<string>();
        Assert.False(SideFile.BelongsTo(side, model, after.Add));
        Assert.Contains("the model was replaced", Assert.Single(after));
    }

    [Fact]
    public void TrainAndEvaluateRecordTheModelHashAndARetrainOrphansTheOldReport()
    {
        Assert.Equal(SideFile.Sha256(trained.Zip), Recorded(trained.TrainingSideFile));

        var zip = trained.CopyTo(dir);
        var (code, _, error) = Cli.Run("evaluate", zip, "--data", TestData.FixtureDirectory, "--limit", "16", "--attacks", "FGSM", "--eps", "0.1");
        Assert.True(code == ExitCodes.Ok, error);
        var report = Path.Combine(dir, "m.robustness.json");
        Assert.Equal(SideFile.Sha256(zip), ReportWriter.ReadJson(report).ModelSha256);
        var warnings = new List<string>();
        Assert.True(SideFile.BelongsTo(report, zip, warnings.Add));
        Assert.Empty(warnings);

        // Retrained under the same name (another seed): the training side file follows, the old report is orphaned.
        var (code2, _, error2) = Cli.Run("train", "--data", TestData.FixtureDirectory, "--train-limit", "128", "--test-limit", "64", "--epochs", "1",
            "--batch-size", "64", "--threads", $"{TestData.Threads}", "--seed", "2", "-o", zip, "--force");
        Assert.True(code2 == ExitCodes.Ok, error2);
        Assert.NotEqual(SideFile.Sha256(trained.Zip), SideFile.Sha256(zip));
        Assert.Equal(SideFile.Sha256(zip), Recorded(Path.Combine(dir, "m.training.json")));
        Assert.False(SideFile.BelongsTo(report, zip, warnings.Add));
        Assert.Contains("Ignoring 'm.robustness.json'", Assert.Single(warnings));
    }

    [Fact]
    public void ExportTakesBetaOnlyFromTheTrainingSideFileOfThisModel()
    {
        var zip = trained.CopyTo(dir);
        var side = Path.Combine(dir, "m.training.json");
        var onnx = Path.Combine(dir, "own.onnx");
        var (code, _, error) = Cli.Run("export", zip, "-o", onnx);
        Assert.True(code == ExitCodes.Ok, error);
        Assert.DoesNotContain("warning", error);
        Assert.Equal(0.002, Beta(onnx)!.Value, 12);

        File.WriteAllText(side, $"{{\"modelSha256\":\"{new string('0', 64)}\",\"mode\":\"dq\",\"beta\":0.5}}");
        var other = Path.Combine(dir, "other.onnx");
        var (code2, _, error2) = Cli.Run("export", zip, "-o", other);
        Assert.True(code2 == ExitCodes.Ok, error2);
        Assert.Contains("warning: Ignoring 'm.training.json'", error2);
        Assert.Null(Beta(other));
    }

    private static string? Recorded(string sideFile)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(sideFile));
        return doc.RootElement.GetProperty(SideFile.ModelHashProperty).GetString();
    }

    private static double? Beta(string onnx)
    {
        using var classifier = new OnnxClassifier(onnx);
        return classifier.Metadata.TryGetValue(OnnxMetadataKeys.Beta, out var b) ? double.Parse(b, System.Globalization.CultureInfo.InvariantCulture) : null;
    }
}
