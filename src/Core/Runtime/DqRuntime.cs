namespace DqMlNet.Runtime;

/// <summary>
/// The one place an application opts into process-wide tuning. Library types never change the whole process on their
/// own: a web server or a notebook that hosts DqMlNet next to other native code keeps its allocator and LibTorch thread
/// pool unless it calls <see cref="ConfigureProcess"/> at its entry point (the samples and the <c>dq</c> CLI do).
/// The one exception is a thread count the caller names explicitly in a trainer's options (<c>Threads</c>): that is
/// a request for this run, applied as asked.
/// </summary>
public static class DqRuntime
{
    /// <summary>
    /// Applies process-wide settings once, at the application's entry point, before any model is trained or evaluated.
    /// </summary>
    /// <param name="threads">
    /// LibTorch intra-op threads for the whole process; null leaves LibTorch alone (its default: one per core). Results are
    /// reproducible for a fixed seed and a fixed thread count, so fix it when numbers must match across runs.
    /// </param>
    /// <param name="tuneMalloc">
    /// Keeps freed LibTorch buffers mapped on glibc (see <see cref="MallocTuning"/>): fewer page faults per training and
    /// attack step. Has no effect off Linux, with a non-glibc C library, or when the user set glibc's own variables.
    /// </param>
    /// <param name="quietLibTorchLog">
    /// Raises LibTorch's C++ log to errors only (see <see cref="LibTorchLogging"/>), unless the user set
    /// <c>TORCH_CPP_LOG_LEVEL</c>: no per-convolution NNPACK warnings on CPUs NNPACK does not know.
    /// </param>
    /// <returns>What is in effect afterwards.</returns>
    public static ProcessConfiguration ConfigureProcess(int? threads = null, bool tuneMalloc = true, bool quietLibTorchLog = true)
    {
        // LibTorch is initialised only when a thread count is asked for: a process that scores with ONNX Runtime alone
        // keeps it unloaded (the log level lives in c10, a small library of its own that does not initialise LibTorch).
        if (threads is int t) TorchRuntime.SetThreads(t);
        bool tuned = tuneMalloc && MallocTuning.Apply();
        int? logLevel = quietLibTorchLog ? LibTorchLogging.Apply() : null;
        return new ProcessConfiguration(threads is null ? null : TorchRuntime.Threads, tuned, logLevel);
    }
}
