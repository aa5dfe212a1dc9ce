using System.Diagnostics;

namespace DqMlNet.Tests;

/// <summary>Starts this test assembly as a child process (see <see cref="ChildProcess"/>).</summary>
internal static class ChildRunner
{
    /// <summary>512 MiB: the managed-heap cap of the hostile-input tests.</summary>
    public const string HeapLimit512MiB = "0x20000000";

    public static ProcessStartInfo StartInfo(IDictionary<string, string>? environment, params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(dotnet) || !File.Exists(dotnet)) dotnet = "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        return psi;
    }

    /// <summary>Runs the child to completion: exit code and standard output (standard error appended).</summary>
    public static (int ExitCode, string Output) Run(IDictionary<string, string>? environment, TimeSpan timeout, params string[] args)
    {
        using var process = Process.Start(StartInfo(environment, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The child '{string.Join(" ", args)}' did not finish within {timeout}.");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
