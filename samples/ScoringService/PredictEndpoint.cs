using Microsoft.AspNetCore.Http.Features;

namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// POST /predict: reads one image (multipart field "file", or the raw body) of at most Model:MaxImageBytes and scores it
/// through the <see cref="PredictionPipeline"/>. Bad images give 400, oversized bodies or images 413, all as RFC 7807
/// problem JSON; the concurrency limiter and the request timeout in front of it give 503.
/// </summary>
internal static class PredictEndpoint
{
    /// <summary>Room for multipart boundaries and part headers around the image.</summary>
    private const long MultipartOverhead = 64 * 1024;

    public static async Task<IResult> Handle(HttpRequest request, PredictionPipeline pipeline, ImageLimitOptions limits, CancellationToken ct)
    {
        long maxBytes = limits.MaxImageBytes;
        if (request.ContentLength > maxBytes + (request.HasFormContentType ? MultipartOverhead : 0))
            return TooLarge($"The request is larger than the limit of {maxBytes:N0} bytes (Model:MaxImageBytes).");
        // Let the server stop reading a body that keeps coming past the limit (chunked uploads declare no length).
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
            bodyLimit.MaxRequestBodySize = maxBytes + MultipartOverhead;

        using var reservation = pipeline.Reserve();
        byte[] bytes;
        try
        {
            var read = request.HasFormContentType ? await ReadMultipart(request, maxBytes, ct) : await ReadBody(request, maxBytes, ct);
            if (read.Error is not null) return read.Error;
            bytes = read.Bytes!;
        }
        catch (BadHttpRequestException ex)
        {
            return ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? TooLarge($"The request is larger than the limit of {maxBytes:N0} bytes (Model:MaxImageBytes).")
                : Problem(ex.StatusCode, "Bad request", $"The request body could not be read: {ex.Message}");
        }

        try
        {
            return Results.Ok(await pipeline.PredictAsync(bytes, reservation, ct));
        }
        catch (InvalidImageException ex)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid image", ex.Message);
        }
        catch (ImageTooLargeException ex)
        {
            return TooLarge(ex.Message);
        }
    }

    private static async Task<(byte[]? Bytes, IResult? Error)> ReadMultipart(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = maxBytes + MultipartOverhead, BufferBodyLengthLimit = maxBytes + MultipartOverhead }, ct);
        }
        catch (InvalidDataException ex) when (ex.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            return (null, TooLarge($"The request is larger than the limit of {maxBytes:N0} bytes (Model:MaxImageBytes)."));
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            return (null, Problem(StatusCodes.Status400BadRequest, "Bad request", $"The multipart body could not be read: {ex.Message}"));
        }
        var file = form.Files.GetFile("file") ?? form.Files.GetFile("image") ?? (form.Files.Count == 1 ? form.Files[0] : null);
        if (file is null)
            return (null, Problem(StatusCodes.Status400BadRequest, "Missing image",
                form.Files.Count == 0
                    ? "Missing file field: send multipart/form-data with the image in a field named 'file'."
                    : $"Several files were sent ({string.Join(", ", form.Files.Select(f => f.Name))}); put the image in a field named 'file'."));
        if (file.Length > maxBytes)
            return (null, TooLarge($"The image is larger than the limit of {maxBytes:N0} bytes (Model:MaxImageBytes)."));
        var bytes = new byte[file.Length];
        await using var stream = file.OpenReadStream();
        await stream.ReadExactlyAsync(bytes, ct);
        return (bytes, null);
    }

    private static async Task<(byte[]? Bytes, IResult? Error)> ReadBody(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        var tooLarge = TooLarge($"The image is larger than the limit of {maxBytes:N0} bytes (Model:MaxImageBytes).");
        if (request.ContentLength is long declared)
        {
            // Content-Length is already checked against the limit: read exactly that many bytes into one array.
            var bytes = new byte[declared];
            int total = 0;
            while (total < bytes.Length)
            {
                int n = await request.Body.ReadAsync(bytes.AsMemory(total), ct);
                if (n == 0) throw new BadHttpRequestException($"The body ended after {total} of the {declared} bytes its Content-Length declares.");
                total += n;
            }
            return (bytes, null);
        }
        using var memory = new MemoryStream();
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffer, ct)) > 0)
            {
                if (memory.Length + read > maxBytes) return (null, tooLarge);
                memory.Write(buffer, 0, read);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return (memory.ToArray(), null);
    }

    private static IResult TooLarge(string detail) => Problem(StatusCodes.Status413PayloadTooLarge, "Image too large", detail);

    private static IResult Problem(int status, string title, string detail) => Results.Problem(detail: detail, statusCode: status, title: title);
}
