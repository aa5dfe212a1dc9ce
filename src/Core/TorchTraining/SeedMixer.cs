namespace DqMlNet.TorchTraining;

/// <summary>
/// Derives independent, reproducible seeds from a base seed and indices (SplitMix64). Unlike
/// <see cref="HashCode.Combine{T1, T2}"/>, which is randomised per process, the result is the same in every run.
/// </summary>
public static class SeedMixer
{
    /// <summary>A 31-bit seed for <see cref="Random"/> derived from <paramref name="seed"/> and <paramref name="streams"/>.</summary>
    public static int Mix(long seed, params long[] streams)
    {
        ulong state = unchecked((ulong)seed);
        foreach (long s in streams) state = SplitMix(state ^ SplitMix(unchecked((ulong)s)));
        return (int)(SplitMix(state) >> 33);
    }

    /// <summary>SplitMix64's finaliser: a bijective 64-bit mix (also the hash of the attacks' per-row random streams).</summary>
    internal static ulong SplitMix(ulong z)
    {
        unchecked
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
