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
}
