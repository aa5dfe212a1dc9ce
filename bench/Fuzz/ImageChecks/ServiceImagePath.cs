namespace DqMlNet.Samples.ScoringService;

/// <summary>What the scoring service does with an uploaded image before scoring it, as one call for the fuzzer.</summary>
public static class ServiceImagePath
{
    /// <summary>The largest image the service accepts by default (16 MP).</summary>
    public const long PixelCap = 16_000_000;

    /// <summary>Whether the service's header inspector is compiled in (else only the decoder and pixel extraction).</summary>
    public const bool HasInspector =
#if SERVICE_INSPECTOR
        true;
#else
        false;
#endif

    /// <summary>Header check, decode, and the pixels of a 28×28 grey and a 32×32 colour model.</summary>
    public static void Process(byte[] bytes)
    {
#if SERVICE_INSPECTOR
        var header = ImageInspector.Inspect(bytes, PixelCap);
        using var image = ImageDecoder.Decode(bytes, header);
#else
        using var image = ImageDecoder.Decode(bytes);
        if ((long)image.Width * image.Height > PixelCap) return;
#endif
        ImagePixels.Extract(image, 1, 28, 28);
        ImagePixels.Extract(image, 3, 32, 32);
    }

    /// <summary>Whether <paramref name="e"/> is the service's refusal of a bad image (400 or 413).</summary>
    public static bool IsRefusal(Exception e) =>
#if SERVICE_INSPECTOR
        e is InvalidImageException or ImageTooLargeException;
#else
        // Without the header checks, the decoder's own refusals (what the service maps to 400).
        e is InvalidImageException or ArgumentException or InvalidOperationException or NotSupportedException;
#endif
}
