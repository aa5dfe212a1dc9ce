using System.Net.Http;

namespace DqMlNet.Data;

/// <summary>HTTP downloads of dataset files with a short connect timeout, so offline machines fail fast.</summary>
internal static class DatasetDownload
{
    /// <summary>Connect timeout: an offline machine should fall through to the next source quickly.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Opens <paramref name="url"/> and hands the response body to <paramref name="consume"/>.</summary>
    public static void Stream(string url, Action<Stream> consume, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler { ConnectTimeout = ConnectTimeout };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(30) };
        using var response = http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).GetAwaiter().GetResult();
        response.EnsureSuccessStatusCode();
        using var body = response.Content.ReadAsStream(cancellationToken);
        consume(body);
    }

    /// <summary>Whether <paramref name="ex"/> is an expected failure of a download (network, timeout, bad content), not a bug.</summary>
    public static bool IsDownloadFailure(Exception ex, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested &&
        ex is HttpRequestException or TaskCanceledException or IOException or InvalidDataException or UnauthorizedAccessException;
}
