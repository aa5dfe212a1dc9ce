using System.Diagnostics;
using DqMlNet.Cli;
using DqMlNet.Evaluators;

namespace DqMlNet.Tests;

/// <summary>
/// No command may destroy a user's file: an output that is an input (also through a symbolic or hard link) or another
/// output is refused even with --force, an existing output needs --force, and all of it is checked before any work.
/// The commands get a dataset folder of corrupt IDX files: loading it fails with exit code 4 (shown by
/// <see cref="CorruptDataIsADataErrorWhenNothingElseIsWrong"/>), so exit code 2 proves the paths were checked first.
/// </summary>
public sealed class OutputSafetyTests : IClassFixture<TrainedModel>, IDisposable
{
    private readonly TrainedModel trained;
    private readonly string dir = TestData.TempDirectory();
    private readonly string corrupt;

    public OutputSafetyTests(TrainedModel trained)
    {
        this.trained = trained;
        corrupt = Path.Combine(dir, "corrupt-data");
        Directory.CreateDirectory(corrupt);
        foreach (var name in new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" })
            File.WriteAllText(Path.Combine(corrupt, name), "not an IDX file");
    }

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void CorruptDataIsADataErrorWhenNothingElseIsWrong()
    {
        var (code, _, error) = Cli.Run("train", "--data", corrupt, "-o", Path.Combine(dir, "fresh.zip"));
        Assert.True(code == ExitCodes.Data, error);
        var zip = trained.CopyTo(dir);
        var (code2, _, error2) = Cli.Run("evaluate", zip, "--data", corrupt, "--attacks", "FGSM");
        Assert.True(code2 == ExitCodes.Data, error2);
        Assert.False(File.Exists(Path.Combine(dir, "fresh.zip")));
        Assert.False(File.Exists(Path.Combine(dir, "m.robustness.json")));
    }

    [Fact]
    public void EvaluateRefusesToWriteItsReportOverTheModel()
    {
        var zip = trained.CopyTo(dir);
        var before = File.ReadAllBytes(zip);
        foreach (var force in new[] { false, true })
        {
            var (code, _, error) = Cli.Run(With(force, "evaluate", zip, "-o", zip, "--data", corrupt));
            Assert.Equal(ExitCodes.Usage, code);
            Assert.Contains("would destroy the input", error);
            Assert.Contains("m.zip", error);
            Assert.Equal(before, File.ReadAllBytes(zip));
        }
    }

    [Fact]
    public void EvaluateRefusesToWriteMarkdownOverItsJson()
    {
        var zip = trained.CopyTo(dir);
        var before = File.ReadAllBytes(zip);
        var md = Path.Combine(dir, "r.md");
        var (code, _, error) = Cli.Run("evaluate", zip, "-o", md, "--data", corrupt);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("would both be", error);
        Assert.Contains("r.md", error);
        Assert.False(File.Exists(md));

        File.WriteAllText(md, "my notes");
        var (code2, _, _) = Cli.Run("evaluate", zip, "-o", md, "--data", corrupt, "--force");
        Assert.Equal(ExitCodes.Usage, code2);
        Assert.Equal("my notes", File.ReadAllText(md));
        Assert.Equal(before, File.ReadAllBytes(zip));
    }

    [Fact]
    public void ExportRefusesToWriteOverItsModelOrItsTrainingSideFile()
    {
        var zip = trained.CopyTo(dir);
        var side = Path.Combine(dir, "m.training.json");
        var before = File.ReadAllBytes(zip);
        var sideBefore = File.ReadAllBytes(side);
        foreach (var target in new[] { zip, side })
        foreach (var force in new[] { false, true })
        {
            var (code, _, error) = Cli.Run(With(force, "export", zip, "-o", target));
            Assert.Equal(ExitCodes.Usage, code);
            Assert.Contains("would destroy the input", error);
        }
        Assert.Equal(before, File.ReadAllBytes(zip));
        Assert.Equal(sideBefore, File.ReadAllBytes(side));
    }

    [Fact]
    public void ReportRefusesToWriteOverItsReport()
    {
        var json = WriteReport("r.json");
        var before = File.ReadAllBytes(json);
        foreach (var args in new[]
                 {
                     new[] { "report", json, "-o", json },
                     new[] { "report", json, "-o", json, "--force" },
                     new[] { "report", json, "--png", json, "--force" },
                 })
        {
            var (code, _, error) = Cli.Run(args);
            Assert.Equal(ExitCodes.Usage, code);
            Assert.Contains("would destroy the input", error);
            Assert.Equal(before, File.ReadAllBytes(json));
        }
        var both = Path.Combine(dir, "x.md");
        var (code2, _, error2) = Cli.Run("report", json, "-o", both, "--png", both);
        Assert.Equal(ExitCodes.Usage, code2);
        Assert.Contains("would both be", error2);
        Assert.False(File.Exists(both));
    }

    [Fact]
    public void TrainRefusesOneFileForZipAndOnnxBeforeLoadingTheData()
    {
        var zip = Path.Combine(dir, "a.zip");
        File.WriteAllText(zip, "an older model");
        // A million epochs would never end: the refusal comes first (and before the corrupt data is read, which would give 4).
        var (code, _, error) = Cli.Run("train", "--data", corrupt, "--epochs", "1000000", "-o", zip, "--onnx", zip, "--force");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--output and --onnx would both be", error);
        Assert.Equal("an older model", File.ReadAllText(zip));

        // The training side file is an output too, and the dataset files are inputs.
        var (code2, _, error2) = Cli.Run("train", "--data", corrupt, "-o", zip, "--onnx", Path.Combine(dir, "a.training.json"), "--force");
        Assert.Equal(ExitCodes.Usage, code2);
        Assert.Contains("training side file", error2);
        var labels = Path.Combine(corrupt, "train-labels-idx1-ubyte.gz");
        var (code3, _, error3) = Cli.Run("train", "--data", corrupt, "-o", labels, "--force");
        Assert.Equal(ExitCodes.Usage, code3);
        Assert.Contains("dataset file", error3);
        Assert.Equal("not an IDX file", File.ReadAllText(labels));
        Assert.Equal("an older model", File.ReadAllText(zip));
    }

    [Fact]
    public void ExistingOutputsAreReplacedOnlyWithForce()
    {
        var zip = trained.CopyTo(dir);
        var report = Path.Combine(dir, "m.robustness.json");
        File.WriteAllText(report, "an older report");
        var (code, _, error) = Cli.Run("evaluate", zip, "--data", corrupt);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("already exists; pass --force", error);
        Assert.Equal("an older report", File.ReadAllText(report));

        var onnx = Path.Combine(dir, "m.onnx");
        File.WriteAllText(onnx, "an older export");
        var (code2, _, error2) = Cli.Run("export", zip);
        Assert.Equal(ExitCodes.Usage, code2);
        Assert.Contains("m.onnx", error2);
        Assert.Equal("an older export", File.ReadAllText(onnx));
        var (code3, _, error3) = Cli.Run("export", zip, "--force");
        Assert.True(code3 == ExitCodes.Ok, error3);
        Assert.Equal(File.ReadAllBytes(trained.Onnx), File.ReadAllBytes(onnx)); // the same model exported again

        var before = File.ReadAllBytes(zip);
        var (code4, _, error4) = Cli.Run("train", "--data", corrupt, "-o", zip);
        Assert.Equal(ExitCodes.Usage, code4);
        Assert.Contains("already exists", error4);
        Assert.Equal(before, File.ReadAllBytes(zip));
        File.WriteAllText(Path.Combine(dir, "new.training.json"), "{}"); // a stale side file is an existing output as well
        var (code5, _, error5) = Cli.Run("train", "--data", corrupt, "-o", Path.Combine(dir, "new.zip"));
        Assert.Equal(ExitCodes.Usage, code5);
        Assert.Contains("new.training.json", error5);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void LinksToAnInputAreTheInput()
    {
        Assert.True(OperatingSystem.IsLinux(), "the CI and this machine run Linux");
        var zip = trained.CopyTo(dir);
        var before = File.ReadAllBytes(zip);
        var symlink = Path.Combine(dir, "link.json");
        File.CreateSymbolicLink(symlink, zip);
        var (code, _, error) = Cli.Run("evaluate", zip, "-o", symlink, "--force", "--data", corrupt);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("through a link", error);

        var hard = Path.Combine(dir, "hard.onnx");
        using (var ln = Process.Start("ln", new[] { zip, hard })) ln.WaitForExit();
        Assert.True(File.Exists(hard));
        var (code2, _, error2) = Cli.Run("export", zip, "-o", hard, "--force");
        Assert.Equal(ExitCodes.Usage, code2);
        Assert.Contains("through a link", error2);

        var alias = Path.Combine(Path.GetTempPath(), "dqmlnet-alias-" + Guid.NewGuid().ToString("N"));
        Directory.CreateSymbolicLink(alias, dir);
        try
        {
            var (code3, _, error3) = Cli.Run("export", zip, "-o", Path.Combine(alias, "m.zip"), "--force");
            Assert.Equal(ExitCodes.Usage, code3);
            Assert.Contains("would destroy the input", error3);
            // Two new outputs reached through different folder paths are one file as well.
            var (code4, _, error4) = Cli.Run("train", "--data", corrupt, "-o", Path.Combine(dir, "b.zip"), "--onnx", Path.Combine(alias, "b.zip"));
            Assert.Equal(ExitCodes.Usage, code4);
            Assert.Contains("would both be", error4);
        }
        finally
        {
            Directory.Delete(alias);
        }
        Assert.Equal(before, File.ReadAllBytes(zip));
        Assert.Equal(before, File.ReadAllBytes(hard));
    }

    [Fact]
    public void OutputsThatCannotBeWrittenAreRefusedFirst()
    {
        var json = WriteReport("r.json");
        var file = Path.Combine(dir, "plain.txt");
        File.WriteAllText(file, "x");
        var (code, _, error) = Cli.Run("report", json, "-o", Path.Combine(file, "sub", "r.md"));
        Assert.Equal(ExitCodes.Io, code);
        Assert.Contains("is a file, not a folder", error);

        var (code2, _, error2) = Cli.Run("report", json, "-o", dir);
        Assert.Equal(ExitCodes.Usage, code2);
        Assert.Contains("is a folder", error2);

        // A folder that does not exist yet is created.
        var nested = Path.Combine(dir, "new", "folder", "r.md");
        var (code3, _, error3) = Cli.Run("report", json, "-o", nested);
        Assert.True(code3 == ExitCodes.Ok, error3);
        Assert.Contains("upper bound (gradient attacks only)", File.ReadAllText(nested)); // FGSM alone gives no worst case
        Assert.Equal("x", File.ReadAllText(file));
    }

    private static string[] With(bool force, params string[] args) => force ? args.Append("--force").ToArray() : args;

    private string WriteReport(string name)
    {
        var json = Path.Combine(dir, name);
        ReportWriter.WriteJson(new RobustnessReport
        {
            Model = "SmallCnn DQ-4", N = 100, CleanAccuracy = 0.8,
            Attacks = new[] { new AttackResult { Name = "FGSM", Epsilon = 0.1, RobustAccuracy = 0.5 } },
            WorstCase = new[] { new WorstCaseResult(0.1, 0.5, new[] { "FGSM" }) },
        }, json);
        return json;
    }
}
