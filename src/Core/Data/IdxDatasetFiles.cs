namespace DqMlNet.Data;

/// <summary>The four IDX files of an MNIST-style dataset, and where they came from.</summary>
public sealed record IdxDatasetFiles(string TrainImages, string TrainLabels, string TestImages, string TestLabels, string Source)
{
    /// <summary>Standard file names inside <paramref name="directory"/> (gzip-compressed).</summary>
    public static IdxDatasetFiles InDirectory(string directory, string source = "cache") => new(
        Path.Combine(directory, "train-images-idx3-ubyte.gz"),
        Path.Combine(directory, "train-labels-idx1-ubyte.gz"),
        Path.Combine(directory, "t10k-images-idx3-ubyte.gz"),
        Path.Combine(directory, "t10k-labels-idx1-ubyte.gz"),
        source);

    /// <summary>The four paths.</summary>
    public IEnumerable<string> All => new[] { TrainImages, TrainLabels, TestImages, TestLabels };

    /// <summary>Image and label paths of one split.</summary>
    public (string Images, string Labels) For(DatasetSplit split) =>
        split == DatasetSplit.Train ? (TrainImages, TrainLabels) : (TestImages, TestLabels);

    /// <summary>Loads one split as a validated dataset, optionally only its first <paramref name="limit"/> images.</summary>
    public ImageDataset Load(DatasetSplit split, IReadOnlyList<string> classNames, int? limit = null)
    {
        var (imagesPath, labelsPath) = For(split);
        var (pixels, count, rows, cols) = IdxFile.ReadImages(imagesPath);
        var labels = IdxFile.ReadLabels(labelsPath);
        if (labels.Length != count)
            throw new InvalidDataException($"'{imagesPath}' holds {count} images but '{labelsPath}' holds {labels.Length} labels; the files do not belong together.");
        if (limit is int n)
        {
            if (n < 1) throw new ArgumentOutOfRangeException(nameof(limit), n, "The image limit must be at least 1.");
            if (n < count)
            {
                pixels = pixels.AsSpan(0, n * rows * cols).ToArray();
                labels = labels.AsSpan(0, n).ToArray();
            }
        }
        return ImageDataset.FromBytes(pixels, labels, 1, rows, cols, classNames);
    }
}
