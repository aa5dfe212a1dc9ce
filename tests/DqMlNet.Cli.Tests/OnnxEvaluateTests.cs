using DqMlNet.Cli;
using DqMlNet.Data;
using DqMlNet.Evaluators;
using Google.Protobuf;
using Onnx;

namespace DqMlNet.Tests;

/// <summary>
/// <c>dq evaluate</c> on ONNX files: a DqMlNet export is attacked white-box (judged by ONNX Runtime, gradients from its
/// twin); a foreign file is score-only and refuses gradient attacks.
/// </summary>
public sealed class OnnxEvaluateTests : IClassFixture<TrainedModel>, IDisposable
{
    private readonly TrainedModel trained;
    private readonly string dir = TestData.TempDirectory();

    public OnnxEvaluateTests(TrainedModel trained) => this.trained = trained;

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void AnExportIsAttackedWhiteBoxAndTheReportNamesTheAttacks()
    {
        var onnx = Path.Combine(dir, "m.onnx");
        File.Copy(trained.Onnx, onnx);
        var (code, output, error) = Cli.Run("evaluate", onnx, "--data", TestData.FixtureDirectory, "--limit", "32",
            "--attacks", "FGSM,PGD,Square", "--steps", "5", "--square-queries", "50", "--eps", "0.2");
        Assert.True(code == ExitCodes.Ok, error);
        var json = Path.Combine(dir, "m.robustness.json");
        var report = ReportWriter.ReadJson(json);
        Assert.Equal(RobustnessReport.DeployedExport, report.Artifact);
        Assert.Contains("white-box", report.Model);
        Assert.Equal(new[] { "FGSM", "PGD-5", "Square" }, report.Attacks.Select(a => a.Name).ToArray());
        Assert.Equal(32, report.N);
        Assert.True(report.CleanAccuracy > 0.1, $"clean accuracy {report.CleanAccuracy}");
        foreach (var attack in report.Attacks)
        {
            Assert.InRange(attack.RobustAccuracy, 0, report.CleanAccuracy);
            Assert.InRange(attack.MaxPerturbation, 0, 0.2 + 1e-6);
        }
        // White-box PGD at ε = 0.2 on a one-epoch model: it must fool some images.
        Assert.True(report.RobustAccuracy("PGD-5", 0.2) < report.CleanAccuracy, "PGD-5 fooled nothing");
        Assert.Equal(RobustBound.WorstCase, report.WorstCaseBound(0.2));
        Assert.DoesNotContain(report.Warnings, w => w.Contains("skipped") || w.Contains("Score-only"));
        Assert.Equal(SideFile.Sha256(onnx), report.ModelSha256);

        var markdown = File.ReadAllText(Path.Combine(dir, "m.robustness.md"));
        foreach (var row in new[] { "| FGSM |", "| PGD-5 |", "| Square |", "| **worst case** |" }) Assert.Contains(row, markdown);
        Assert.Contains(RobustnessReport.DeployedExport, markdown);
        Assert.Contains("PGD-5", output);
    }

    [Fact]
    public void AForeignFileIsScoreOnlyAndRefusesGradientAttacks()
    {
        // The export without its logits output and without DqMlNet metadata: a classifier someone else published.
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(trained.Onnx));
        model.Graph.Output.Remove(model.Graph.Output.Single(o => o.Name == "logits"));
        model.MetadataProps.Clear();
        var foreign = Path.Combine(dir, "foreign.onnx");
        File.WriteAllBytes(foreign, model.ToByteArray());

        var (refused, _, message) = Cli.Run("evaluate", foreign, "--data", TestData.FixtureDirectory, "--limit", "16", "--attacks", "Square,PGD");
        Assert.Equal(ExitCodes.Usage, refused);
        Assert.Contains("'PGD-20' needs gradients", message);
        Assert.Contains("not a DqMlNet export", message);
        Assert.False(File.Exists(Path.Combine(dir, "foreign.robustness.json")));
        Assert.Equal(ExitCodes.Usage, Cli.Run("evaluate", foreign, "--data", TestData.FixtureDirectory, "--attacks", "PGD-proxy").Code);

        var (code, _, error) = Cli.Run("evaluate", foreign, "--data", TestData.FixtureDirectory, "--limit", "32", "--square-queries", "100", "--eps", "0.2");
        Assert.True(code == ExitCodes.Ok, error);
        var report = ReportWriter.ReadJson(Path.Combine(dir, "foreign.robustness.json"));
        Assert.Equal(new[] { "Square", "Noise" }, report.Attacks.Select(a => a.Name).ToArray());
        Assert.Contains("score-only", report.Artifact);
        Assert.Contains("score-only", report.Model);
        Assert.Contains(report.Warnings, w => w.Contains("no gradient (white-box) attack could run") && w.Contains("upper bound"));
        Assert.True(report.CleanAccuracy > 0.1, $"clean accuracy {report.CleanAccuracy}");
        Assert.True(report.RobustAccuracy("Square", 0.2) < report.CleanAccuracy, "Square fooled nothing on the foreign file");
        Assert.Contains("upper bound", File.ReadAllText(Path.Combine(dir, "foreign.robustness.md")));
    }
}
