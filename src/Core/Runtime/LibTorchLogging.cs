using System.Runtime.InteropServices;

namespace DqMlNet.Runtime;

/// <summary>
/// The minimum severity of LibTorch's own C++ log (c10's <c>LOG(...)</c>, written to stderr). At its default, warning,
/// LibTorch 2.10 writes "Could not initialize NNPACK! Reason: Unsupported hardware." at every convolution that could
/// use NNPACK on CPUs NNPACK does not recognise (recent AMD EPYC among them): about 1,900 lines per quickstart run,
/// while the convolution silently and correctly takes another path. Raising the level to error keeps errors and
/// LibTorch's Python-style warnings (<c>TORCH_WARN</c>, a separate channel) and drops those lines. It is a process-wide
/// setting, so the library never applies it by itself: an application opts in with <see cref="DqRuntime.ConfigureProcess"/>.
/// </summary>
public static class LibTorchLogging
{
    /// <summary>PyTorch's own variable for the level (INFO, WARNING, ERROR, FATAL or 0–3): when set, it wins.</summary>
    public const string LevelVariable = "TORCH_CPP_LOG_LEVEL";

    /// <summary>c10's error severity (its levels: 0 info, 1 warning, 2 error, 3 fatal).</summary>
    private const int Error = 2;

    private static readonly Lazy<int?> Applied = new(Configure, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Sets LibTorch's log level once per process: the level named by <see cref="LevelVariable"/> when the user set it,
    /// else error. Returns the level in effect, or null when LibTorch's c10 library was not found (nothing changed).
    /// Loading c10 does not initialise LibTorch.
    /// </summary>
    public static int? Apply() => Applied.Value;

    private static int? Configure()
    {
        if (!NativeLibrary.TryLoad(OperatingSystem.IsWindows() ? "c10.dll" : OperatingSystem.IsMacOS() ? "libc10.dylib" : "libc10.so",
                typeof(LibTorchLogging).Assembly, null, out var c10))
            return null;
        if (!NativeLibrary.TryGetExport(c10, "FLAGS_caffe2_log_level", out var level)) return null;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(LevelVariable)))
        {
            // c10 reads the variable itself (as PyTorch's Python module does at import); LibTorch alone never does.
            if (!NativeLibrary.TryGetExport(c10, "_ZN3c1011initLoggingEv", out var initLogging)) return null;
            Marshal.GetDelegateForFunctionPointer<InitLoggingFunction>(initLogging)();
        }
        else
        {
            Marshal.WriteInt32(level, Error);
        }
        return Marshal.ReadInt32(level);
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void InitLoggingFunction();
}
