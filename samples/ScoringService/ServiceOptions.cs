namespace DqMlNet.Samples.ScoringService;

/// <summary>Input limits of POST /predict (configuration section <c>Model</c>).</summary>
public sealed class ImageLimitOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Model";

    /// <summary>Largest accepted request body in bytes (413 above). Default 10 MB.</summary>
    public long MaxImageBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>
    /// Largest accepted image in pixels (width × height, read from the PNG/JPEG header before anything is decoded; 413
    /// above). Default 16 MP (4096 × 4096): a decoded image costs 4 bytes per pixel, so this caps one decode at 64 MB.
    /// </summary>
    public long MaxImagePixels { get; set; } = 4096L * 4096;

    internal void Validate()
    {
        if (MaxImageBytes < 64) throw new InvalidOperationException($"Model:MaxImageBytes must be at least 64 bytes; it is {MaxImageBytes}.");
        if (MaxImagePixels < 1) throw new InvalidOperationException($"Model:MaxImagePixels must be at least 1; it is {MaxImagePixels}.");
    }
}

/// <summary>Load shedding, timeouts and shutdown (configuration section <c>Limits</c>).</summary>
public sealed class LoadLimitOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Limits";

    /// <summary>
    /// POST /predict requests processed at once (each may hold a body of up to Model:MaxImageBytes and one decoded
    /// image of up to 4 × Model:MaxImagePixels bytes, so this bounds the memory of the service). Default 16.
    /// </summary>
    public int ConcurrentRequests { get; set; } = 16;

    /// <summary>Requests that wait for a slot (oldest first) before the service answers 503. Default 64.</summary>
    public int QueuedRequests { get; set; } = 64;

    /// <summary>Seconds sent in the Retry-After header of a 503. Default 1.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Time budget of one POST /predict, including waiting in the queue; 503 when exceeded. Default 30 s.</summary>
    public double RequestTimeoutSeconds { get; set; } = 30;

    /// <summary>On shutdown, how long in-flight requests may finish before they are aborted. Default 30 s.</summary>
    public double ShutdownTimeoutSeconds { get; set; } = 30;

    internal void Validate()
    {
        if (ConcurrentRequests < 1) throw new InvalidOperationException($"Limits:ConcurrentRequests must be at least 1; it is {ConcurrentRequests}.");
        if (QueuedRequests < 0) throw new InvalidOperationException($"Limits:QueuedRequests must be 0 or more; it is {QueuedRequests}.");
        if (RetryAfterSeconds < 0) throw new InvalidOperationException($"Limits:RetryAfterSeconds must be 0 or more; it is {RetryAfterSeconds}.");
        if (!(RequestTimeoutSeconds > 0)) throw new InvalidOperationException($"Limits:RequestTimeoutSeconds must be positive; it is {RequestTimeoutSeconds}.");
        if (!(ShutdownTimeoutSeconds >= 0)) throw new InvalidOperationException($"Limits:ShutdownTimeoutSeconds must be 0 or more; it is {ShutdownTimeoutSeconds}.");
    }
}

/// <summary>Micro-batching of concurrent requests into one model call (configuration section <c>Batching</c>).</summary>
public sealed class BatchingOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Batching";

    /// <summary>Most images per model call; 1 scores every request on its own. Default 32.</summary>
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>
    /// Longest time a batch waits for more images once it holds one, and only while other admitted requests are still
    /// being read or decoded (an idle service never waits). Default 2 ms.
    /// </summary>
    public double MaxWaitMilliseconds { get; set; } = 2;

    internal void Validate()
    {
        if (MaxBatchSize is < 1 or > 4096) throw new InvalidOperationException($"Batching:MaxBatchSize must be in [1, 4096]; it is {MaxBatchSize}.");
        if (!(MaxWaitMilliseconds >= 0 && MaxWaitMilliseconds <= 1000))
            throw new InvalidOperationException($"Batching:MaxWaitMilliseconds must be in [0, 1000]; it is {MaxWaitMilliseconds}.");
    }
}

/// <summary>Readiness probing (configuration section <c>Health</c>).</summary>
public sealed class HealthOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Health";

    /// <summary>
    /// How long a readiness result (the built-in probe image scored end to end) is reused, so that frequent probes
    /// cannot load the model. Default 1 s.
    /// </summary>
    public double ProbeCacheSeconds { get; set; } = 1;

    internal void Validate()
    {
        if (!(ProbeCacheSeconds >= 0)) throw new InvalidOperationException($"Health:ProbeCacheSeconds must be 0 or more; it is {ProbeCacheSeconds}.");
    }
}
