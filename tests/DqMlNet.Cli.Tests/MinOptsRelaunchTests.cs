using System.Diagnostics;
using DqMlNet.Cli;

namespace DqMlNet.Tests;

/// <summary>
/// <c>dq train</c> and <c>dq evaluate</c> run in a child process with <c>DOTNET_JITMinOpts=1</c> (TorchSharp's temporary
/// scalars stay alive through each native call): the child's exit code is the parent's, a SIGTERM sent to the parent
/// ends the child, and no child is started when the variable is already set or for the other commands.
/// </summary>
public sealed class MinOptsRelaunchTests : IDisposable
{
    private readonly string dir = TestData.TempDirectory();

    public void Dispose() => Directory.Delete(dir, true);

    private static string DqDll => Path.Combine(AppContext.BaseDirectory, "dq.dll");

    private static ProcessStartInfo Dq(IEnumerable<string> args, string? minOpts)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(DqDll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove(MinOptsRelaunch.Variable);
        start.Environment.Remove(MinOptsRelaunch.OptOutVariable);
        if (minOpts is not null) start.Environment[MinOptsRelaunch.Variable] = minOpts;
        start.Environment["DQ_DEBUG"] = "1";
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        return start;
    }

    private static (int Code, string Error) Run(IEnumerable<string> args, string? minOpts)
    {
        using var process = Process.Start(Dq(args, minOpts))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "dq did not finish");
        _ = stdout.Result;
        return (process.ExitCode, stderr.Result);
    }

    private const string RelaunchLine = "with DOTNET_JITMinOpts=1";

    [Fact]
    public void TrainAndEvaluateRunInAChildWhoseExitCodeIsReturned()
    {
        if (OperatingSystem.IsWindows()) return; // no child on Windows: the command runs in-process
        string missing = Path.Combine(dir, "missing.zip");
        var (code, error) = Run(new[] { "evaluate", missing, "-o", Path.Combine(dir, "r.json") }, minOpts: null);
        Assert.Equal(ExitCodes.Input, code);
        Assert.Contains(RelaunchLine, error);
        Assert.Contains("does not exist", error);

        var (trainCode, trainError) = Run(new[] { "train", "--epochs", "0", "-o", Path.Combine(dir, "m.zip") }, minOpts: null);
        Assert.Equal(ExitCodes.Usage, trainCode);
        Assert.Contains(RelaunchLine, trainError);
    }

    [Fact]
    public void NoChildWhenTheVariableIsSetOrForOtherCommands()
    {
        string missing = Path.Combine(dir, "missing.zip");
        var (code, error) = Run(new[] { "evaluate", missing, "-o", Path.Combine(dir, "r.json") }, minOpts: "1");
        Assert.Equal(ExitCodes.Input, code);
        Assert.DoesNotContain(RelaunchLine, error);

        var (exportCode, exportError) = Run(new[] { "export", missing, "-o", Path.Combine(dir, "m.onnx") }, minOpts: null);
        Assert.Equal(ExitCodes.Input, exportCode);
        Assert.DoesNotContain(RelaunchLine, exportError);
    }

    [Fact]
    public async Task SigtermToTheParentEndsTheChild()
    {
        if (OperatingSystem.IsWindows()) return;
        var args = new[]
        {
            "train", "--data", TestData.FixtureDirectory, "--epochs", "50", "--threads", "1", "--test-limit", "10",
            "-o", Path.Combine(dir, "long.zip"),
        };
        using var parent = Process.Start(Dq(args, minOpts: null))!;
        _ = parent.StandardOutput.ReadToEndAsync();
        // The parent names its child on its first line of standard error.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string first = await parent.StandardError.ReadLineAsync(timeout.Token) ?? "";
        var words = first.Split(' ');
        Assert.Contains("process", words);
        int childId = int.Parse(words[words.ToList().IndexOf("process") + 1], System.Globalization.CultureInfo.InvariantCulture);
        using var child = Process.GetProcessById(childId);
        await Task.Delay(2000); // let the child reach its training loop

        using (var kill = Process.Start("kill", new[] { "-TERM", parent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) })!)
            kill.WaitForExit();

        Assert.True(parent.WaitForExit(TimeSpan.FromSeconds(30)), "the parent did not end after SIGTERM");
        Assert.True(child.WaitForExit(TimeSpan.FromSeconds(5)), "the child outlived its parent");
        Assert.Equal(128 + 15, parent.ExitCode); // the child's end by SIGTERM, passed on
        Assert.False(File.Exists(Path.Combine(dir, "long.zip")));
    }
}
