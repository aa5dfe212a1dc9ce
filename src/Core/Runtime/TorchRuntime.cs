using static TorchSharp.torch;

namespace DqMlNet.Runtime;

/// <summary>Process-wide LibTorch settings: threads, device parsing, seeding.</summary>
public static class TorchRuntime
{
    /// <summary>
    /// Sets the number of intra-op threads LibTorch uses (a process-wide setting). Results are reproducible for a
    /// fixed seed and a fixed thread count.
    /// </summary>
    public static void SetThreads(int threads)
    {
        if (threads < 1)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "The thread count must be at least 1 (or leave it unset to keep LibTorch's default).");
        if (get_num_threads() != threads) set_num_threads(threads);
    }

    /// <summary>Threads LibTorch currently uses.</summary>
    public static int Threads => get_num_threads();

    /// <summary>
    /// Parses a device name ("cpu", "cuda", "cuda:1"); throws an <see cref="ArgumentException"/> with the fix when the
    /// device is unknown or unavailable (e.g. CUDA with the CPU-only LibTorch package).
    /// </summary>
    public static Device ParseDevice(string? name)
    {
        name = string.IsNullOrWhiteSpace(name) ? "cpu" : name.Trim().ToLowerInvariant();
        Device device;
        try
        {
            device = new Device(name);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new ArgumentException($"Unknown device '{name}'. Use \"cpu\", \"cuda\" or \"cuda:N\".", nameof(name), ex);
        }
        if (device.type == TorchSharp.DeviceType.CUDA && !cuda.is_available())
            throw new ArgumentException(
                $"Device '{name}' was requested but CUDA is not available: this process uses the CPU-only LibTorch package " +
                "(TorchSharp-cpu) or has no GPU. Use \"cpu\", or reference a TorchSharp CUDA package instead of TorchSharp-cpu.", nameof(name));
        return device;
    }

    /// <summary>Seeds LibTorch's global generator (weight initialisation draws from it).</summary>
    public static void Seed(long seed) => manual_seed(seed);
}
