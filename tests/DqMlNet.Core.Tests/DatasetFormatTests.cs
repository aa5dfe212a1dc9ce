using System.Formats.Tar;
using System.IO.Compression;
using DqMlNet.Data;

namespace DqMlNet.Tests;

/// <summary>CIFAR-10 binary batches, MAT v5 files and SVHN, on small files written here in each real format.</summary>
public sealed class DatasetFormatTests : IDisposable
{
    private readonly string _dir = TestData.TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // ---------- CIFAR-10 ----------

    /// <summary>Pixel value of image <paramref name="i"/> at channel c, row y, column x (distinct enough to catch layout mix-ups).</summary>
    private static byte CifarPixel(int i, int c, int y, int x) => (byte)((i * 31 + c * 101 + y * 7 + x * 3) % 256);

    /// <summary>A CIFAR-10 .bin written record by record: label byte, then R, G, B planes, each 32 rows of 32.</summary>
    private static byte[] CifarRecords(int first, params byte[] labels)
    {
        var bytes = new List<byte>();
        for (int k = 0; k < labels.Length; k++)
        {
            bytes.Add(labels[k]);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++)
                        bytes.Add(CifarPixel(first + k, c, y, x));
        }
        return bytes.ToArray();
    }

    private string WriteCifarFolder(string folder, int perFile = 2)
    {
        Directory.CreateDirectory(folder);
        int image = 0;
        foreach (var name in Cifar10.TrainFiles.Append(Cifar10.TestFile))
        {
            var labels = Enumerable.Range(image, perFile).Select(i => (byte)(i % 10)).ToArray();
            File.WriteAllBytes(Path.Combine(folder, name), CifarRecords(image, labels));
            image += perFile;
        }
        return folder;
    }

    [Fact]
    public void CifarBinaryPixelsLandInChannelRowColumnOrder()
    {
        var path = Path.Combine(_dir, "data_batch_1.bin");
        File.WriteAllBytes(path, CifarRecords(0, 3, 9, 0));
        Assert.Equal(3, Cifar10BinaryFile.CountRecords(path));
        var (pixels, labels) = Cifar10BinaryFile.Read(path);
        Assert.Equal(new byte[] { 3, 9, 0 }, labels);
        Assert.Equal(CifarPixel(1, 2, 5, 7), pixels[3072 + 2 * 1024 + 5 * 32 + 7]);

        var folder = WriteCifarFolder(Path.Combine(_dir, "cifar-10", Cifar10.BatchFolderName));
        using var train = Cifar10.Load(DatasetSplit.Train, Path.Combine(_dir, "cifar-10"), allowDownload: false);
        Assert.Equal(10, train.Count); // 5 files × 2 records
        Assert.Equal((3, 32, 32), (train.Channels, train.Height, train.Width));
        Assert.Equal(Cifar10.ClassNames, train.ClassNames);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i).ToArray(), train.Labels.data<long>().ToArray());
        foreach (var (i, c, y, x) in new[] { (0, 0, 0, 0), (1, 2, 5, 7), (3, 1, 31, 0), (9, 2, 0, 31), (6, 0, 17, 23) })
            Assert.Equal(CifarPixel(i, c, y, x) / 255f, train.Images[i, c, y, x].item<float>(), 6);

        // A limit spanning two files, and class names from batches.meta.txt.
        File.WriteAllText(Path.Combine(folder, Cifar10.MetaFileName), string.Join("\n", Enumerable.Range(0, 10).Select(i => $"class{i}")) + "\n\n");
        using var limited = Cifar10.LoadFrom(folder, DatasetSplit.Train, limit: 3);
        Assert.Equal(3, limited.Count);
        Assert.Equal("class9", limited.ClassNames[9]);
        Assert.Equal(CifarPixel(2, 1, 4, 4) / 255f, limited.Images[2, 1, 4, 4].item<float>(), 6);
        using var test = Cifar10.LoadFrom(folder, DatasetSplit.Test);
        Assert.Equal(new long[] { 0, 1 }, test.Labels.data<long>().ToArray()); // images 10, 11
    }

    [Fact]
    public void CifarTruncatedFileOrBadLabelIsAClearError()
    {
        var path = Path.Combine(_dir, "test_batch.bin");
        File.WriteAllBytes(path, CifarRecords(0, 1, 2).AsSpan(0, 3073 + 100).ToArray());
        var ex = Assert.Throws<InvalidDataException>(() => Cifar10BinaryFile.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("3073", ex.Message);
        Assert.Contains("cut off after 100 bytes", ex.Message);
        Assert.Contains("download cifar-10-binary.tar.gz again", ex.Message);

        var bytes = CifarRecords(0, 1, 2);
        bytes[3073] = 10; // label of record 1
        File.WriteAllBytes(path, bytes);
        ex = Assert.Throws<InvalidDataException>(() => Cifar10BinaryFile.Read(path));
        Assert.Contains("record 1 (byte offset 3073) has label 10", ex.Message);
    }

    [Fact]
    public void CifarEnsureAvailableExplainsWhatToPutWhereAndUsesALocalArchive()
    {
        var dir = Path.Combine(_dir, "cifar-10");
        var ex = Assert.Throws<InvalidOperationException>(() => Cifar10.EnsureAvailable(dir, allowDownload: false));
        Assert.Contains(Cifar10.OfficialUrl, ex.Message);
        Assert.Contains(Path.Combine(dir, Cifar10.BatchFolderName), ex.Message);
        Assert.Contains("data_batch_1.bin", ex.Message);
        Assert.Contains("test_batch.bin", ex.Message);

        // The official archive put into the folder by hand is extracted on first use.
        var source = WriteCifarFolder(Path.Combine(_dir, "src", Cifar10.BatchFolderName), perFile: 1);
        Directory.CreateDirectory(dir);
        using (var gz = new GZipStream(File.Create(Path.Combine(dir, Cifar10.ArchiveFileName)), CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, Cifar10.BatchFolderName + "/"));
            foreach (var file in Directory.GetFiles(source).Order())
                tar.WriteEntry(file, Cifar10.BatchFolderName + "/" + Path.GetFileName(file));
        }
        var folder = Cifar10.EnsureAvailable(dir, allowDownload: false);
        Assert.Equal(Path.Combine(dir, Cifar10.BatchFolderName), folder);
        using var test = Cifar10.Load(DatasetSplit.Test, dir, allowDownload: false);
        Assert.Equal(1, test.Count);
        Assert.Equal(CifarPixel(5, 2, 3, 4) / 255f, test.Images[0, 2, 3, 4].item<float>(), 6);

        // Files directly in the folder are accepted too.
        var flat = WriteCifarFolder(Path.Combine(_dir, "flat"));
        Assert.Equal(flat, Cifar10.EnsureAvailable(flat, allowDownload: false));
    }

    // ---------- MAT v5 / SVHN ----------

    /// <summary>SVHN pixel of image k at row r, column c, channel ch.</summary>
    private static byte SvhnPixel(int k, int ch, int r, int c) => (byte)((k * 37 + ch * 89 + r * 5 + c * 11) % 256);

    /// <summary>X as MATLAB stores a 32×32×3×n uint8 array: column-major, so the row index varies fastest.</summary>
    private static byte[] SvhnX(int n)
    {
        var x = new byte[32 * 32 * 3 * n];
        for (int k = 0; k < n; k++)
            for (int ch = 0; ch < 3; ch++)
                for (int c = 0; c < 32; c++)
                    for (int r = 0; r < 32; r++)
                        x[r + 32 * (c + 32 * (ch + 3 * k))] = SvhnPixel(k, ch, r, c);
        return x;
    }

    private static readonly double[] SvhnY = { 10, 1, 5, 9 };

    private static MatV5TestWriter SvhnMat(bool compressed, bool bigEndian = false) => new MatV5TestWriter(compressed, bigEndian)
        .Add("description", MatV5TestWriter.MxChar, new[] { 1, 2 }, MatV5TestWriter.MiUInt8, "ab"u8.ToArray())
        .AddUInt8("X", new[] { 32, 32, 3, SvhnY.Length }, SvhnX(SvhnY.Length))
        .AddDouble("y", new[] { SvhnY.Length, 1 }, SvhnY);

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void SvhnMatFileGivesChannelMajorPixelsAndDigitLabels(bool compressed, bool bigEndian)
    {
        var path = Path.Combine(_dir, "test_32x32.mat");
        SvhnMat(compressed, bigEndian).Save(path);
        Assert.Equal(bigEndian, MatV5Reader.ReadHeader(path).BigEndian);

        using var data = Svhn.LoadFile(path);
        Assert.Equal(4, data.Count);
        Assert.Equal((3, 32, 32), (data.Channels, data.Height, data.Width));
        Assert.Equal(new long[] { 0, 1, 5, 9 }, data.Labels.data<long>().ToArray()); // 10 → 0
        Assert.Equal("0", data.ClassNames[0]);
        foreach (var (k, ch, r, c) in new[] { (0, 0, 0, 0), (1, 2, 5, 7), (3, 1, 31, 0), (2, 0, 0, 31), (3, 2, 17, 23) })
            Assert.Equal(SvhnPixel(k, ch, r, c) / 255f, data.Images[k, ch, r, c].item<float>(), 6);

        using var limited = Svhn.Load(DatasetSplit.Test, _dir, limit: 2, allowDownload: false);
        Assert.Equal(2, limited.Count);
        Assert.Equal(SvhnPixel(1, 2, 30, 1) / 255f, limited.Images[1, 2, 30, 1].item<float>(), 6);

        var all = MatV5Reader.Read(path);
        Assert.Equal(new[] { ("description", MatClass.Char), ("X", MatClass.UInt8), ("y", MatClass.Double) }, all.Variables);
        Assert.False(all.Arrays.ContainsKey("description"));
    }

    [Fact]
    public void MatDoubleStoredAsUInt8IsReadAsMatlabDoes()
    {
        // MATLAB stores a double array holding small integers with storage type miUINT8; the class stays double.
        var path = Path.Combine(_dir, "train_32x32.mat");
        new MatV5TestWriter(compressed: true)
            .AddUInt8("X", new[] { 32, 32, 3, 2 }, SvhnX(2))
            .Add("y", MatV5TestWriter.MxDouble, new[] { 2, 1 }, MatV5TestWriter.MiUInt8, new byte[] { 3, 10 })
            .Save(path);
        var y = MatV5Reader.Read(path, "y").Get("y");
        Assert.Equal(MatClass.Double, y.Class);
        Assert.Equal(new[] { 3.0, 10.0 }, y.ToDoubleArray());
        using var data = Svhn.LoadFile(path);
        Assert.Equal(new long[] { 3, 0 }, data.Labels.data<long>().ToArray());
    }

    [Fact]
    public void MatCorruptHeaderIsAClearError()
    {
        var path = Path.Combine(_dir, "bad.mat");
        var bytes = SvhnMat(compressed: false).ToBytes();
        bytes[126] = (byte)'X';
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => MatV5Reader.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("endian indicator at offset 126", ex.Message);
        Assert.Contains("delete it and obtain it again", ex.Message);

        File.WriteAllBytes(path, new byte[] { 0x89, (byte)'H', (byte)'D', (byte)'F', 13, 10, 26, 10, 0, 0 });
        ex = Assert.Throws<InvalidDataException>(() => MatV5Reader.Read(path));
        Assert.Contains("v7.3", ex.Message);
        Assert.Contains("'-v7'", ex.Message);

        File.WriteAllBytes(path, bytes.AsSpan(0, 60).ToArray());
        ex = Assert.Throws<InvalidDataException>(() => MatV5Reader.ReadHeader(path));
        Assert.Contains("only 60 bytes", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatTruncatedOrCorruptDataIsAClearError(bool compressed)
    {
        var path = Path.Combine(_dir, "cut.mat");
        var bytes = SvhnMat(compressed).ToBytes();
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 50).ToArray());
        var ex = Assert.Throws<InvalidDataException>(() => Svhn.LoadFile(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("file offset", ex.Message);
        Assert.Contains("delete it and obtain it again", ex.Message);

        if (compressed)
        {
            bytes[128 + 8 + 2] ^= 0xFF; // inside the zlib stream of the first variable
            bytes[128 + 8 + 3] ^= 0xFF;
            File.WriteAllBytes(path, bytes);
            ex = Assert.Throws<InvalidDataException>(() => MatV5Reader.Read(path));
            Assert.Contains("compressed element does not decompress", ex.Message);
            Assert.Contains("at file offset 128", ex.Message);
        }
    }

    [Fact]
    public void SvhnWrongClassOrMissingVariableNamesFileAndFix()
    {
        var path = Path.Combine(_dir, "train_32x32.mat");
        new MatV5TestWriter(compressed: true)
            .AddDouble("X", new[] { 32, 32, 3, 1 }, new double[3072])
            .AddDouble("y", new[] { 1, 1 }, new[] { 1.0 })
            .Save(path);
        var ex = Assert.Throws<InvalidDataException>(() => Svhn.LoadFile(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("'X' is of MATLAB class Double, not uint8", ex.Message);
        Assert.Contains("replace the file with the official one", ex.Message);

        new MatV5TestWriter(compressed: false).AddUInt8("X", new[] { 32, 32, 3 }, SvhnX(1)).Save(path);
        ex = Assert.Throws<InvalidDataException>(() => Svhn.LoadFile(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("has no variable 'y'", ex.Message);
        Assert.Contains("'X' (UInt8)", ex.Message);

        new MatV5TestWriter(compressed: false)
            .AddUInt8("X", new[] { 32, 32, 3 }, SvhnX(1))
            .AddDouble("y", new[] { 1, 1 }, new[] { 11.0 })
            .Save(path);
        ex = Assert.Throws<InvalidDataException>(() => Svhn.LoadFile(path));
        Assert.Contains("label y(1) is 11", ex.Message);
    }

    [Fact]
    public void SvhnEnsureAvailableExplainsWhatToPutWhere()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Svhn.EnsureAvailable(_dir, allowDownload: false));
        Assert.Contains("missing train_32x32.mat", ex.Message);
        Assert.Contains("missing test_32x32.mat", ex.Message);
        Assert.Contains("http://ufldl.stanford.edu/housenumbers/train_32x32.mat", ex.Message);
        Assert.Contains(_dir, ex.Message);

        SvhnMat(compressed: true).Save(Path.Combine(_dir, "test_32x32.mat"));
        Assert.Equal(_dir, Svhn.EnsureAvailable(_dir, new[] { DatasetSplit.Test }, allowDownload: false));
        ex = Assert.Throws<InvalidOperationException>(() => Svhn.Load(DatasetSplit.Train, _dir, allowDownload: false));
        Assert.DoesNotContain("test_32x32.mat", ex.Message);
    }
}
