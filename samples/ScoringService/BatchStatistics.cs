using System.Diagnostics.Metrics;

namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// Counts of the batches the <see cref="ScoringBatcher"/> formed (by size) and of requests the limiter shed, for GET
/// /metrics and the load test; also published as .NET metrics (meter <c>DqMlNet.ScoringService</c>: histogram
/// <c>dqmlnet.scoring.batch_size</c>, counter <c>dqmlnet.scoring.rejected</c>) for dotnet-counters or OpenTelemetry.
/// </summary>
public sealed class BatchStatistics
{
    private readonly long[] sizes;
    private readonly Histogram<int> batchSize;
    private readonly Counter<long> rejectedCounter;
    private long batches, images, rejected, timedOut;

    /// <summary>Creates the counters for batches of up to <paramref name="maxBatchSize"/> images.</summary>
    public BatchStatistics(int maxBatchSize, IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        sizes = new long[maxBatchSize + 1];
        var meter = meters.Create("DqMlNet.ScoringService");
        batchSize = meter.CreateHistogram<int>("dqmlnet.scoring.batch_size", "{image}", "Images scored per model call.");
        rejectedCounter = meter.CreateCounter<long>("dqmlnet.scoring.rejected", "{request}", "POST /predict requests answered 503 by the concurrency limiter.");
    }

    /// <summary>Records one model call over <paramref name="size"/> images.</summary>
    public void RecordBatch(int size)
    {
        Interlocked.Increment(ref sizes[Math.Clamp(size, 0, sizes.Length - 1)]);
        Interlocked.Increment(ref batches);
        Interlocked.Add(ref images, size);
        batchSize.Record(size);
    }

    /// <summary>Records a request shed by the concurrency limiter.</summary>
    public void RecordRejected()
    {
        Interlocked.Increment(ref rejected);
        rejectedCounter.Add(1);
    }

    /// <summary>Records a request that ran out of its time budget.</summary>
    public void RecordTimeout() => Interlocked.Increment(ref timedOut);

    /// <summary>What GET /metrics returns.</summary>
    public MetricsSnapshot Snapshot()
    {
        long b = Interlocked.Read(ref batches), n = Interlocked.Read(ref images);
        var bySize = new SortedDictionary<int, long>();
        for (int s = 1; s < sizes.Length; s++)
        {
            long count = Interlocked.Read(ref sizes[s]);
            if (count > 0) bySize[s] = count;
        }
        return new MetricsSnapshot(b, n, b == 0 ? 0 : (double)n / b, bySize, Interlocked.Read(ref rejected), Interlocked.Read(ref timedOut));
    }
}

/// <summary>Counters since start.</summary>
/// <param name="Batches">Model calls.</param>
/// <param name="Images">Images scored.</param>
/// <param name="MeanBatchSize">Images per model call.</param>
/// <param name="BatchSizes">Model calls per batch size.</param>
/// <param name="Rejected">Requests answered 503 by the concurrency limiter.</param>
/// <param name="TimedOut">Requests answered 503 because they exceeded Limits:RequestTimeoutSeconds.</param>
public sealed record MetricsSnapshot(long Batches, long Images, double MeanBatchSize, IReadOnlyDictionary<int, long> BatchSizes, long Rejected, long TimedOut);
