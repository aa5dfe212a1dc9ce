using DqMlNet.Cli;
using DqMlNet.Evaluators;

namespace DqMlNet.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "dqmlnet-cli-" + Guid.NewGuid().ToString("N"));

    public CliTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = DqCommand.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void HelpListsTheCommands()
    {
        var (code, output, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (var command in new[] { "train", "evaluate", "export", "report" }) Assert.Contains(command, output);
        var (trainCode, trainHelp, _) = Run("train", "--help");
        Assert.Equal(0, trainCode);
        foreach (var option in new[] { "--mode", "--bits", "--beta", "--epochs", "--train-limit", "--output", "--onnx", "--data" }) Assert.Contains(option, trainHelp);
    }

    [Fact]
    public void UnknownOptionAndUnknownCommandFail()
    {
        var (code, _, error) = Run("train", "--frobnicate", "3");
        Assert.NotEqual(0, code);
        Assert.Contains("--frobnicate", error);
        Assert.NotEqual(0, Run("fly").Code);
    }

    [Fact]
    public void MissingFilesFailWithAClearMessage()
    {
        var missing = Path.Combine(dir, "nope.zip");
        foreach (var command in new[] { "evaluate", "export", "report" })
        {
            var (code, _, error) = Run(command, missing);
            Assert.Equal(ExitCodes.Input, code);
            Assert.Contains("does not exist", error);
            Assert.Contains("nope.zip", error);
        }
        var (c2, _, e2) = Run("train", "--data", Path.Combine(dir, "no-such-folder"));
        Assert.Equal(ExitCodes.Input, c2);
        Assert.Contains("does not exist", e2);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-0.1")]
    [InlineData("1.5")]
    [InlineData("0.05,x")]
    public void BadEpsilonIsRejected(string eps)
    {
        var model = Path.Combine(dir, "m.onnx");
        File.WriteAllBytes(model, new byte[] { 1 });
        var (code, _, error) = Run("evaluate", model, "--eps", eps);
        Assert.NotEqual(0, code);
        Assert.Contains("ε", error);
    }

    [Fact]
    public void BadValuesAreRejected()
    {
        Assert.Contains("fp", Run("train", "--mode", "int4").Err);
        Assert.Contains("--bits", Run("train", "--bits", "12").Err);
        Assert.Contains("--epochs must be a positive integer", Run("train", "--epochs", "0").Err);
        Assert.Contains("--beta", Run("train", "--beta", "-1").Err);
        var model = Path.Combine(dir, "m.zip");
        File.WriteAllBytes(model, new byte[] { 1 });
        var (code, _, error) = Run("evaluate", model, "--attacks", "FGSM,Teleport");
        Assert.NotEqual(0, code);
        Assert.Contains("Unknown attack 'Teleport'", error);
    }

    [Fact]
    public void SuiteAndAttacksCannotBothNameTheAttacks()
    {
        var model = Path.Combine(dir, "m.zip");
        File.WriteAllBytes(model, new byte[] { 1 });
        var (code, _, error) = Run("evaluate", model, "--suite", "autoattack", "--attacks", "PGD");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--suite and --attacks", error);
        var (code2, _, error2) = Run("evaluate", model, "--suite", "strongest");
        Assert.Equal(ExitCodes.Usage, code2);
        Assert.Contains("strongest", error2);
    }

    [Fact]
    public void ACorruptOnnxFileIsInvalidDataWhateverTheAttacks()
    {
        // Whether gradient attacks are allowed depends on the file (a DqMlNet export or not), so it is read first.
        var model = Path.Combine(dir, "m.onnx");
        File.WriteAllBytes(model, new byte[] { 1 });
        var (code, _, error) = Run("evaluate", model, "--attacks", "PGD");
        Assert.Equal(ExitCodes.Data, code);
        Assert.StartsWith("error:", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void CorruptModelZipFailsWithoutAStackTrace()
    {
        var model = Path.Combine(dir, "m.zip");
        File.WriteAllText(model, "not a zip");
        var (code, _, error) = Run("export", model);
        Assert.Equal(ExitCodes.Data, code);
        Assert.StartsWith("error:", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void ReportRendersMarkdownAndPng()
    {
        var json = Path.Combine(dir, "dq4.robustness.json");
        ReportWriter.WriteJson(new RobustnessReport
        {
            Model = "SmallCnn DQ-4", N = 100, CleanAccuracy = 0.8,
            Attacks = new[] { new AttackResult { Name = "FGSM", Epsilon = 0.1, RobustAccuracy = 0.5 } },
            WorstCase = new[] { new WorstCaseResult(0.1, 0.5, new[] { "FGSM" }) },
        }, json);
        var (code, output, error) = Run("report", json);
        Assert.True(code == 0, error);
        Assert.Contains("SmallCnn DQ-4", output);
        Assert.Contains("| FGSM |", output);

        var md = Path.Combine(dir, "r.md");
        var png = Path.Combine(dir, "r.png");
        var (code2, _, error2) = Run("report", json, "-o", md, "--png", png);
        Assert.True(code2 == 0, error2);
        Assert.Contains("upper bound (gradient attacks only)", File.ReadAllText(md)); // FGSM alone gives no worst case
        Assert.True(new FileInfo(png).Length > 1000);

        File.WriteAllText(json, "{ not json");
        Assert.Equal(ExitCodes.Data, Run("report", json).Code);
        // Valid JSON that is not a report is refused too, instead of rendering as an empty report.
        File.WriteAllText(json, "{ \"foo\": 1 }");
        var (code3, _, error3) = Run("report", json);
        Assert.Equal(ExitCodes.Data, code3);
        Assert.Contains("not a robustness report", error3);
    }
}
