using System.Diagnostics;
using System.Runtime.InteropServices;

namespace DqMlNet.Cli;

/// <summary>
/// Runs <c>dq train</c> and <c>dq evaluate</c> in a child process with <c>DOTNET_JITMinOpts=1</c> when the variable is
/// not already set.
/// <para>
/// TorchSharp passes every .NET number to LibTorch as a temporary <c>Scalar</c> whose finalizer frees the native value;
/// optimised code drops the last reference before the native call returns, so a garbage collection started by another
/// thread can free the value while LibTorch reads it (an exception, or in principle a wrong number, a few times per
/// million calls under allocation pressure). Unoptimised code keeps every argument alive until its method returns; the
/// JIT reads the switch only at process start, hence the child. Torch-bound work runs no slower.
/// </para>
/// The parent only waits: the child inherits standard input, output and error, its exit code is the parent's, and
/// SIGTERM, SIGINT, SIGQUIT and SIGHUP sent to the parent (a scheduler stopping the job) are passed on to it.
/// </summary>
internal static class MinOptsRelaunch
{
    public const string Variable = "DOTNET_JITMinOpts";

    /// <summary>Set to 1 to run in this process even without <see cref="Variable"/> (e.g. under a debugger).</summary>
    public const string OptOutVariable = "DQ_NO_RELAUNCH";

    /// <summary>The commands that run LibTorch for long.</summary>
    private static readonly string[] Commands = { "train", "evaluate" };

    /// <summary>Whether <paramref name="args"/> should run in a child with <see cref="Variable"/> set.</summary>
    public static bool Needed(string[] args) =>
        !OperatingSystem.IsWindows()
        && args.Length > 0 && Commands.Contains(args[0])
        && Environment.GetEnvironmentVariable(Variable) != "1"
        && Environment.GetEnvironmentVariable(OptOutVariable) != "1";

    /// <summary>Starts this program again with <see cref="Variable"/> = 1, waits for it and returns its exit code.</summary>
    public static int Run(string[] args)
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this process is unknown.");
        var start = new ProcessStartInfo(host) { UseShellExecute = false };
        // Under `dotnet dq.dll` the host is dotnet and the program is its first argument; an apphost is the program.
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(typeof(MinOptsRelaunch).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment[Variable] = "1";

        using var child = Process.Start(start) ?? throw new InvalidOperationException($"Could not start '{host}'.");
        if (Environment.GetEnvironmentVariable("DQ_DEBUG") is not null)
            Console.Error.WriteLine($"dq: running as process {child.Id} with {Variable}=1");
        var forwarding = new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGHUP }
            .Select(signal => PosixSignalRegistration.Create(signal, context =>
            {
                // The child decides how to end; this process ends when it does. (A terminal's Ctrl+C reaches both.)
                context.Cancel = true;
                if (!child.HasExited) _ = Kill(child.Id, Number(context.Signal));
            }))
            .ToList();
        try
        {
            child.WaitForExit();
            return child.ExitCode;
        }
        finally
        {
            foreach (var registration in forwarding) registration.Dispose();
        }
    }

    /// <summary>The platform's number of a signal (PosixSignal's values are not the numbers kill takes).</summary>
    private static int Number(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGQUIT => 3,
        _ => 15,
    };

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
