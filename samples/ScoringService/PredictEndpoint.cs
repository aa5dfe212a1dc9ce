namespace DqMlNet.Samples.ScoringService;

/// <summary>POST /predict: reads one image (multipart field "file", or the raw body), scores it, maps errors to 400.</summary>
internal static class PredictEndpoint
{
    public static async Task<IResult> Handle(HttpRequest request, ScoringModel model, long maxBytes, CancellationToken ct)
    {
        byte[] bytes;
        if (request.ContentLength > maxBytes)
            return Error(StatusCodes.Status413PayloadTooLarge, $"The request is larger than the limit of {maxBytes} bytes.");
        if (request.HasFormContentType)
        {
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(ct);
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or BadHttpRequestException)
            {
                return Error(StatusCodes.Status400BadRequest, $"The multipart body could not be read: {ex.Message}");
            }
            var file = form.Files.GetFile("file") ?? form.Files.GetFile("image") ?? (form.Files.Count == 1 ? form.Files[0] : null);
            if (file is null)
                return Error(StatusCodes.Status400BadRequest,
                    form.Files.Count == 0
                        ? "Missing file field: send multipart/form-data with the image in a field named 'file'."
                        : $"Several files were sent ({string.Join(", ", form.Files.Select(f => f.Name))}); put the image in a field named 'file'.");
            if (file.Length > maxBytes)
                return Error(StatusCodes.Status413PayloadTooLarge, $"The image is larger than the limit of {maxBytes} bytes.");
            using var memory = new MemoryStream();
            await file.CopyToAsync(memory, ct);
            bytes = memory.ToArray();
        }
        else
        {
            using var memory = new MemoryStream();
            var buffer = new byte[81920];
            int read;
            while ((read = await request.Body.ReadAsync(buffer, ct)) > 0)
            {
                memory.Write(buffer, 0, read);
                if (memory.Length > maxBytes)
                    return Error(StatusCodes.Status413PayloadTooLarge, $"The image is larger than the limit of {maxBytes} bytes.");
            }
            bytes = memory.ToArray();
        }

        if (bytes.Length == 0)
            return Error(StatusCodes.Status400BadRequest,
                "No image: send a PNG or JPEG as the request body (Content-Type image/png or image/jpeg) or as multipart/form-data field 'file'.");
        try
        {
            return Results.Ok(model.Predict(bytes));
        }
        catch (InvalidImageException ex)
        {
            return Error(StatusCodes.Status400BadRequest, ex.Message);
        }
    }

    private static IResult Error(int status, string message) => Results.Json(new ErrorResponse(message, status), statusCode: status);
}

/// <summary>Body of every error response.</summary>
internal sealed record ErrorResponse(string Error, int Status);
