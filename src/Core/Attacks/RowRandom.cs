using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// Counter-based randomness per example: every value is a hash of (key, the example's row key, stream, position), so an
/// example's random start, Square windows and signs depend only on the attack's seed and name and on the image's global
/// index in the evaluated set — never on its batch, its position in the batch or which other images are still being
/// attacked. Any partition of the rows into batches or shards therefore gives the same per-image results.
/// </summary>
public sealed class RowRandom
{
    /// <summary>Creates the randomness of a batch whose example i is keyed by <paramref name="rowKeys"/>[i].</summary>
    public RowRandom(long key, long[] rowKeys)
    {
        Key = key;
        RowKeys = rowKeys ?? throw new ArgumentNullException(nameof(rowKeys));
    }

    /// <summary>Key of the attack (its seed and name).</summary>
    public long Key { get; }

    /// <summary>Per-example keys (global image indices).</summary>
    public long[] RowKeys { get; }

    /// <summary>The randomness of the examples at <paramref name="positions"/> (e.g. the ones still being attacked).</summary>
    public RowRandom Subset(Tensor positions)
    {
        var p = positions.cpu().to_type(ScalarType.Int64).data<long>().ToArray();
        return new RowRandom(Key, p.Select(i => RowKeys[i]).ToArray());
    }

    /// <summary>64 random bits for example <paramref name="row"/> at (stream, counter).</summary>
    public ulong Bits(int row, long stream, long counter) =>
        Hash(Base(row, stream) + unchecked((ulong)counter * 0x9E3779B97F4A7C15UL));

    /// <summary>A uniform double in [0, 1) for example <paramref name="row"/> at (stream, counter).</summary>
    public double UniformDouble(int row, long stream, long counter) => (Bits(row, stream, counter) >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="bound"/>) for example <paramref name="row"/> at (stream, counter).</summary>
    public int NextInt(int row, long stream, long counter, int bound) =>
        bound <= 1 ? 0 : (int)Math.Min(bound - 1, Math.Floor(UniformDouble(row, stream, counter) * bound));

    /// <summary>Uniform floats in [0, 1), shaped [N, <paramref name="shape"/>...], row i drawn from example i's stream.</summary>
    public Tensor Uniform(long stream, long[] shape, Device device)
    {
        long perRow = shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[checked(RowKeys.Length * perRow)];
        for (int i = 0; i < RowKeys.Length; i++)
        {
            ulong baseState = Base(i, stream);
            long offset = i * perRow;
            for (long j = 0; j < perRow; j++)
                values[offset + j] = (Hash(baseState + unchecked((ulong)j * 0x9E3779B97F4A7C15UL)) >> 40) * (1f / (1 << 24));
        }
        return tensor(values, new[] { (long)RowKeys.Length }.Concat(shape).ToArray()).to(device);
    }

    /// <summary>Random signs ±1 (float), shaped [N, <paramref name="shape"/>...].</summary>
    public Tensor Signs(long stream, long[] shape, Device device)
    {
        using var u = Uniform(stream, shape, device);
        using var up = u.ge(0.5f);
        return up.to_type(ScalarType.Float32).mul(2).sub(1);
    }

    /// <summary>Standard normal floats (Box–Muller on two uniform streams), shaped [N, <paramref name="shape"/>...].</summary>
    public Tensor Normal(long stream, long[] shape, Device device)
    {
        using var scope = NewDisposeScope();
        var u1 = Uniform(stream, shape, device).clamp_min(1e-7f);
        var u2 = Uniform(stream ^ 0x5bd1e995L, shape, device);
        var result = u1.log().mul(-2).sqrt().mul(u2.mul(2 * Math.PI).cos());
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>A stream id for a purpose (random start, Square window, ...) and an index (restart, iteration).</summary>
    public static long Stream(int purpose, long index) => ((long)purpose << 40) ^ index;

    private ulong Base(int row, long stream) =>
        Hash(unchecked((ulong)Key) ^ Hash(unchecked((ulong)RowKeys[row]) ^ Hash(unchecked((ulong)stream) + 0x632BE59BD9B4E019UL)));

    private static ulong Hash(ulong z) => TorchTraining.SeedMixer.SplitMix(z);
}

/// <summary>Purposes of random streams, so that two uses of randomness in one attack never share values.</summary>
internal static class RandomPurpose
{
    public const int Start = 1;
    public const int SquareInit = 2;
    public const int SquareWindow = 3;
    public const int SquareSign = 4;
    public const int Noise = 5;
    public const int FabStart = 6;
}
