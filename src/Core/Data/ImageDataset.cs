using static TorchSharp.torch;

namespace DqMlNet.Data;

/// <summary>
/// Labelled images in memory as tensors: <see cref="Images"/> [N, C, H, W] float32 pixels in [0, 1] and
/// <see cref="Labels"/> [N] int64 class indices. Validated on creation, so training never sees NaN, out-of-range
/// pixels or labels beyond the class list.
/// </summary>
public sealed class ImageDataset : IDisposable
{
    private ImageDataset(Tensor images, Tensor labels, IReadOnlyList<string> classNames)
    {
        Images = images;
        Labels = labels;
        ClassNames = classNames.ToArray();
    }

    /// <summary>Pixels [N, C, H, W], float32 in [0, 1], on the CPU.</summary>
    public Tensor Images { get; }

    /// <summary>Class indices [N], int64 in [0, classes).</summary>
    public Tensor Labels { get; }

    /// <summary>Class names; their count is the number of classes.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Number of images.</summary>
    public int Count => (int)Images.shape[0];

    /// <summary>Number of classes.</summary>
    public int NumClasses => ClassNames.Count;

    /// <summary>Channels per image.</summary>
    public int Channels => (int)Images.shape[1];

    /// <summary>Image height.</summary>
    public int Height => (int)Images.shape[2];

    /// <summary>Image width.</summary>
    public int Width => (int)Images.shape[3];

    /// <summary>Builds a dataset from 8-bit pixels (N·C·H·W bytes, channel-major per image) and byte labels.</summary>
    public static ImageDataset FromBytes(byte[] pixels, byte[] labels, int channels, int height, int width, IReadOnlyList<string> classNames)
    {
        long perImage = (long)channels * height * width;
        if (perImage <= 0) throw new ArgumentException($"Image shape must be positive (got {channels}×{height}×{width}).");
        if (pixels.Length % perImage != 0 || pixels.Length / perImage != labels.Length)
            throw new ArgumentException(
                $"{pixels.Length} pixel bytes and {labels.Length} labels do not match: {labels.Length} images of " +
                $"{channels}×{height}×{width} need {labels.Length * perImage} bytes.", nameof(pixels));
        var images = tensor(pixels, new long[] { labels.Length, channels, height, width }, ScalarType.Byte)
            .to_type(ScalarType.Float32).div_(255f);
        var lab = tensor(labels, ScalarType.Byte).to_type(ScalarType.Int64);
        return FromTensors(images, lab, classNames);
    }

    /// <summary>
    /// Wraps tensors (taking ownership). Throws <see cref="ArgumentException"/> naming the problem and the fix for a
    /// wrong shape or dtype, NaN or infinite pixels, pixels outside [0, 1], or labels outside [0, classes).
    /// </summary>
    public static ImageDataset FromTensors(Tensor images, Tensor labels, IReadOnlyList<string> classNames)
    {
        if (classNames.Count < 2)
            throw new ArgumentException($"A classification dataset needs at least 2 class names (got {classNames.Count}).", nameof(classNames));
        if (images.dim() != 4)
            throw new ArgumentException(
                $"Images must be a 4-D tensor [N, C, H, W] (got shape [{string.Join(", ", images.shape)}]). " +
                "Reshape flat pixels with images.reshape(N, C, H, W).", nameof(images));
        if (!images.is_floating_point())
            throw new ArgumentException($"Images must be float pixels in [0, 1] (got dtype {images.dtype}); divide byte images by 255.", nameof(images));
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException(
                $"Labels must be a 1-D tensor with one label per image: {images.shape[0]} images, labels of shape [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (images.shape[0] == 0)
            throw new ArgumentException("The dataset is empty: at least one image is needed.", nameof(images));

        images = images.to_type(ScalarType.Float32).cpu().contiguous();
        labels = labels.to_type(ScalarType.Int64).cpu().contiguous();
        using (no_grad())
        {
            using var finite = images.isfinite().all();
            if (!finite.item<bool>())
            {
                long index = FirstBadImage(images.isfinite().logical_not());
                throw new ArgumentException(
                    $"Images contain NaN or infinite pixels (first at image {index}). Clean or drop those images before training.", nameof(images));
            }
            float min = images.min().item<float>(), max = images.max().item<float>();
            if (min < 0f || max > 1f)
            {
                long index = FirstBadImage(images.lt(0f).logical_or(images.gt(1f)));
                throw new ArgumentException(
                    $"Pixels must lie in [0, 1] but range over [{min}, {max}] (first offending image {index}). " +
                    (max > 1f && max <= 255f ? "They look like 0–255 bytes: divide by 255. " : "") +
                    "Normalisation (mean/std) belongs in the model, not the data.", nameof(images));
            }
            long lmin = labels.min().item<long>(), lmax = labels.max().item<long>();
            if (lmin < 0 || lmax >= classNames.Count)
            {
                long index = FirstBadImage(labels.lt(0).logical_or(labels.ge(classNames.Count)));
                throw new ArgumentException(
                    $"Label {(lmin < 0 ? lmin : lmax)} (first bad label at image {index}) is outside [0, {classNames.Count - 1}] for " +
                    $"{classNames.Count} classes. Map labels to 0..{classNames.Count - 1} or pass the full class list.", nameof(labels));
            }
        }
        return new ImageDataset(images, labels, classNames);
    }

    /// <summary>The first <paramref name="count"/> images (or all, if fewer), as a new dataset.</summary>
    public ImageDataset Take(int count) => Slice(0, Math.Min(count, Count));

    /// <summary>Images [start, start + count) as a new dataset.</summary>
    public ImageDataset Slice(int start, int count)
    {
        if (start < 0 || count < 1 || start + count > Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"Slice [{start}, {start + count}) is outside the dataset of {Count} images.");
        return new ImageDataset(Images.narrow(0, start, count).clone(), Labels.narrow(0, start, count).clone(), ClassNames);
    }

    /// <summary>Number of images of each class.</summary>
    public long[] ClassCounts()
    {
        using var counts = Labels.bincount(null, NumClasses);
        return counts.data<long>().ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }

    private static long FirstBadImage(Tensor badMask)
    {
        using var perImage = badMask.dim() > 1 ? badMask.flatten(1).any(1) : badMask;
        using var idx = perImage.nonzero();
        return idx.shape[0] > 0 ? idx[0, 0].item<long>() : -1;
    }
}
