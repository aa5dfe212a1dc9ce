namespace DqMlNet.Data;

/// <summary>
/// Reader and writer of the CIFAR-10 binary batch format (<c>data_batch_1.bin</c> … <c>data_batch_5.bin</c>,
/// <c>test_batch.bin</c>): a sequence of 3,073-byte records, each 1 label byte (0–9) followed by 3,072 pixel bytes —
/// 1,024 red, 1,024 green, 1,024 blue, each plane 32×32 row-major. The pixels are therefore already channel-major
/// (C, H, W) per image, the layout <see cref="ImageDataset.FromBytes"/> expects.
/// </summary>
public static class Cifar10BinaryFile
{
    /// <summary>Image side in pixels.</summary>
    public const int Size = 32;

    /// <summary>Colour channels (R, G, B).</summary>
    public const int Channels = 3;

    /// <summary>Pixel bytes per image (3 × 32 × 32).</summary>
    public const int PixelsPerImage = Channels * Size * Size;

    /// <summary>Bytes per record: the label byte plus the pixels.</summary>
    public const int RecordLength = 1 + PixelsPerImage;

    /// <summary>Number of classes; labels must be below this.</summary>
    public const int Classes = 10;

    /// <summary>Number of records in <paramref name="path"/>, from its length; throws when the length is not a whole number of records.</summary>
    public static int CountRecords(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"CIFAR-10 batch file not found: '{path}'.", path);
        long length = new FileInfo(path).Length;
        if (length == 0 || length % RecordLength != 0)
            throw new InvalidDataException(
                $"'{path}' is not a CIFAR-10 binary batch: its length {length} is not a positive multiple of the " +
                $"{RecordLength}-byte record (1 label + {PixelsPerImage} pixels){(length > RecordLength ? $"; the last record is cut off after {length % RecordLength} bytes" : "")}. " +
                "The file is truncated or of another kind (the Python/MATLAB versions of CIFAR-10 are not this format): delete it and " +
                "download cifar-10-binary.tar.gz again.");
        if (length > DataLimits.MaxDatasetBytes || length / RecordLength > int.MaxValue)
            throw new InvalidDataException(
                $"'{path}' has {length:N0} bytes, more than a CIFAR-10 batch (30,730,000) and than the limit of " +
                $"{DataLimits.MaxDatasetBytes:N0} bytes. It is not a CIFAR-10 batch: delete it. " + DataLimits.RaiseDatasetHint);
        return (int)(length / RecordLength);
    }

    /// <summary>
    /// Reads the first <paramref name="limit"/> records (all when null) of a batch file: pixels (N·3·32·32 bytes,
    /// channel-major per image) and labels. Throws <see cref="InvalidDataException"/> naming the file, record and offset
    /// for a wrong length or a label outside 0–9.
    /// </summary>
    public static (byte[] Pixels, byte[] Labels) Read(string path, int? limit = null)
    {
        int count = CountRecords(path);
        if (limit is int n)
        {
            if (n < 1) throw new ArgumentOutOfRangeException(nameof(limit), n, "The image limit must be at least 1.");
            count = Math.Min(count, n);
        }
        var pixels = new byte[(long)count * PixelsPerImage];
        var labels = new byte[count];
        var record = new byte[RecordLength];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        for (int i = 0; i < count; i++)
        {
            stream.ReadExactly(record);
            byte label = record[0];
            if (label >= Classes)
                throw new InvalidDataException(
                    $"'{path}': record {i} (byte offset {(long)i * RecordLength}) has label {label}, but CIFAR-10 labels are 0–{Classes - 1}. " +
                    "The file is corrupt or not CIFAR-10 (CIFAR-100 binaries have 2 label bytes per record): delete it and download cifar-10-binary.tar.gz again.");
            labels[i] = label;
            record.AsSpan(1).CopyTo(pixels.AsSpan((int)((long)i * PixelsPerImage)));
        }
        return (pixels, labels);
    }

    /// <summary>Writes a batch file atomically from channel-major pixels (N·3·32·32 bytes) and labels 0–9.</summary>
    public static void Write(string path, ReadOnlySpan<byte> pixels, ReadOnlySpan<byte> labels)
    {
        if (labels.Length == 0 || (long)labels.Length * PixelsPerImage != pixels.Length)
            throw new ArgumentException($"{pixels.Length} pixel bytes and {labels.Length} labels do not make whole 3×32×32 images (need {(long)labels.Length * PixelsPerImage} bytes, at least one image).", nameof(pixels));
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= Classes) throw new ArgumentException($"Label {labels[i]} of image {i} is outside 0–{Classes - 1}.", nameof(labels));
        var bytes = new byte[(long)labels.Length * RecordLength];
        for (int i = 0; i < labels.Length; i++)
        {
            bytes[i * RecordLength] = labels[i];
            pixels.Slice(i * PixelsPerImage, PixelsPerImage).CopyTo(bytes.AsSpan(i * RecordLength + 1));
        }
        AtomicFile.WriteAllBytes(path, bytes);
    }
}
