using System.Text.Json;
using DqMlNet.Cli;

namespace DqMlNet.Tests;

/// <summary>Every failure ends with its documented exit code.</summary>
public sealed class ExitCodeTests : IDisposable
{
    private readonly string dir = TestData.TempDirectory();

    public void Dispose() => Directory.Delete(dir, true);

    public static TheoryData<Exception, int> Failures => new()
    {
        { new CliException(ExitCodes.Io, "x"), 5 },
        { new FileNotFoundException("x"), 3 },
        { new DirectoryNotFoundException("x"), 3 },
        { new InvalidDataException("x"), 4 },
        { new JsonException("x"), 4 },
        { new FormatException("x"), 4 },
        { new NotSupportedException("x"), 4 },
        { new InvalidOperationException("Training diverged"), 4 },
        { new ArgumentException("x"), 2 },
        { new ArgumentOutOfRangeException("x"), 2 },
        { new IOException("disk full"), 5 },
        { new UnauthorizedAccessException("x"), 5 },
        { new NullReferenceException(), 70 },
        { new IndexOutOfRangeException(), 70 },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void EachFailureHasItsCode(Exception failure, int expected)
    {
        Assert.Equal(expected, ExitCodes.For(failure));
        var error = new StringWriter();
        Assert.Equal(expected, DqCommand.Guard(error, () => throw failure));
        Assert.StartsWith("error: ", error.ToString());
        Assert.DoesNotContain("   at ", error.ToString());
    }

    [Fact]
    public void HelpDocumentsTheExitCodes()
    {
        var (code, output, _) = Cli.Run("--help");
        Assert.Equal(ExitCodes.Ok, code);
        foreach (var text in new[] { "Exit codes", "2 usage", "3 input", "4 invalid data", "5 I/O", "70 internal", "--force" }) Assert.Contains(text, output);
        foreach (var command in new[] { "train", "evaluate", "export", "report" }) Assert.Contains("--force", Cli.Run(command, "--help").Out);
    }

    [Fact]
    public void CommandLineMistakesAreUsageErrors()
    {
        Assert.Equal(ExitCodes.Usage, Cli.Run("train", "--frobnicate", "3").Code);
        Assert.Equal(ExitCodes.Usage, Cli.Run("fly").Code);
        Assert.Equal(ExitCodes.Usage, Cli.Run("train", "--epochs", "0").Code);
        Assert.Equal(ExitCodes.Usage, Cli.Run("report").Code);
    }

    [Fact]
    public void MissingAndInvalidInputsHaveTheirCodes()
    {
        var (code, _, error) = Cli.Run("export", Path.Combine(dir, "nope.zip"));
        Assert.Equal(ExitCodes.Input, code);
        Assert.Contains("does not exist", error);
        Assert.Equal(ExitCodes.Input, Cli.Run("train", "--data", Path.Combine(dir, "no-such-folder")).Code);

        var zip = Path.Combine(dir, "m.zip");
        File.WriteAllText(zip, "not a zip");
        Assert.Equal(ExitCodes.Data, Cli.Run("export", zip).Code);
        var json = Path.Combine(dir, "r.json");
        File.WriteAllText(json, "{ not json");
        Assert.Equal(ExitCodes.Data, Cli.Run("report", json).Code);
        Assert.Equal("not a zip", File.ReadAllText(zip));
        Assert.False(File.Exists(Path.Combine(dir, "m.onnx")));
    }
}
