using System.Runtime.InteropServices;

namespace DqMlNet.Fuzz;

/// <summary>
/// Instrumented assemblies write every branch into SharpFuzz's coverage map. Under afl-fuzz the fork server maps it to
/// AFL's shared memory; when inputs are replayed from files (no fuzzer), a private map is given instead.
/// </summary>
internal static unsafe class Coverage
{
    private const int MapSize = 1 << 16;

    public static void EnsureMap()
    {
        if (SharpFuzz.Common.Trace.SharedMem == null) SharpFuzz.Common.Trace.SharedMem = (byte*)NativeMemory.AllocZeroed(MapSize);
    }
}
