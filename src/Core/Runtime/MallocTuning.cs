using System.Runtime.InteropServices;

namespace DqMlNet.Runtime;

/// <summary>
/// glibc malloc settings for LibTorch's allocation pattern. Every training step frees and re-allocates the same
/// multi-megabyte activation buffers; with glibc's defaults the freed top of the heap is handed back to the kernel and
/// the next step page-faults it in again (the bench measured ~14,000 minor faults and 1.4× the time per DQ step on
/// SmallCnn). Raising the trim threshold and fixing the mmap threshold keeps those pages mapped: the same effect as
/// running with <c>MALLOC_TRIM_THRESHOLD_</c>/<c>MALLOC_MMAP_THRESHOLD_</c>. It changes the allocator of the whole process,
/// so the library never applies it by itself: an application opts in at its entry point with
/// <see cref="DqRuntime.ConfigureProcess"/>.
/// </summary>
public static class MallocTuning
{
    /// <summary>Set this environment variable to <c>0</c> to keep glibc's defaults.</summary>
    public const string DisableVariable = "DQMLNET_MALLOC_TUNING";

    /// <summary>Freed heap memory below this stays mapped (glibc default: 128 KiB, adjusted dynamically).</summary>
    public const int TrimThreshold = 1 << 30;

    /// <summary>Allocations above this use mmap (glibc's largest dynamic threshold on 64-bit: 32 MiB).</summary>
    public const int MmapThreshold = 32 << 20;

    private const int MTrimThreshold = -1; // M_TRIM_THRESHOLD in malloc.h
    private const int MMmapThreshold = -3; // M_MMAP_THRESHOLD in malloc.h
    private static readonly Lazy<bool> Applied = new(Configure, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Applies the settings once per process and says whether they are in effect. Skipped off Linux, when
    /// <see cref="DisableVariable"/> is <c>0</c>, when the user set glibc's own MALLOC_* variables or GLIBC_TUNABLES
    /// (their choice wins), and on a C library without <c>mallopt</c>.
    /// </summary>
    public static bool Apply() => Applied.Value;

    private static bool Configure()
    {
        if (!OperatingSystem.IsLinux()) return false;
        if (Environment.GetEnvironmentVariable(DisableVariable) == "0") return false;
        foreach (var name in new[] { "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES" })
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name))) return false;
        try
        {
            bool trim = mallopt(MTrimThreshold, TrimThreshold) == 1;
            bool mmap = mallopt(MMmapThreshold, MmapThreshold) == 1;
            return trim && mmap;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc (e.g. a musl-based image): nothing to tune
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);
}
