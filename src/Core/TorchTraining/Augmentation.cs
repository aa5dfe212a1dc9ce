using static TorchSharp.torch;

namespace DqMlNet.TorchTraining;

/// <summary>Random crop with zero padding and random horizontal flip, drawn from a seeded <see cref="Random"/>.</summary>
public static class Augmentation
{
    /// <summary>Augments a batch [B, C, H, W]; the same <paramref name="rng"/> state gives the same result.</summary>
    public static Tensor CropAndFlip(Tensor batch, int padding, bool flip, Random rng)
    {
        using var scope = NewDisposeScope();
        long b = batch.shape[0], h = batch.shape[2], w = batch.shape[3];
        var x = batch;
        if (padding > 0)
        {
            var padded = nn.functional.pad(batch, new long[] { padding, padding, padding, padding });
            var crops = new Tensor[b];
            for (int i = 0; i < b; i++)
            {
                int dy = rng.Next(2 * padding + 1), dx = rng.Next(2 * padding + 1);
                crops[i] = padded[i].narrow(1, dy, h).narrow(2, dx, w);
            }
            x = stack(crops);
        }
        if (flip)
        {
            var mask = new bool[b];
            for (int i = 0; i < b; i++) mask[i] = rng.Next(2) == 1;
            var m = tensor(mask, device: x.device).reshape(b, 1, 1, 1);
            x = where(m, x.flip(3), x);
        }
        return (ReferenceEquals(x, batch) ? x.clone() : x).MoveToOuterDisposeScope();
    }
}
