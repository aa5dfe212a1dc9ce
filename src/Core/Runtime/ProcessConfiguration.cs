namespace DqMlNet.Runtime;

/// <summary>What <see cref="DqRuntime.ConfigureProcess"/> left in effect.</summary>
/// <param name="Threads">LibTorch intra-op threads of the process, or null when no thread count was asked for (LibTorch untouched).</param>
/// <param name="MallocTuned">Whether the glibc allocator settings of <see cref="MallocTuning"/> are in effect.</param>
/// <param name="LibTorchLogLevel">
/// LibTorch's C++ log level set by <see cref="LibTorchLogging"/> (0 info … 3 fatal), or null when it was left alone.
/// </param>
public sealed record ProcessConfiguration(int? Threads, bool MallocTuned, int? LibTorchLogLevel = null);
