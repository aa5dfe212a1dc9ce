using System.Diagnostics;
using System.Threading.Channels;

namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// Micro-batching: concurrent requests put their pixels on a channel; one worker takes what is queued, waits at most
/// Batching:MaxWaitMilliseconds for more while other admitted requests are still being read or decoded (never when
/// the service is idle), caps the batch at Batching:MaxBatchSize, and scores it with one model call. Each image's
/// probabilities are the same as when it is scored alone (the model scores images independently). On disposal, after
/// the server stopped, the queue is closed and drained before the model may be released.
/// </summary>
public sealed class ScoringBatcher : IAsyncDisposable, IDisposable
{
    private readonly ScoringModel model;
    private readonly BatchStatistics statistics;
    private readonly ILogger<ScoringBatcher> logger;
    private readonly Channel<Job> channel = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
    private readonly int maxBatch;
    private readonly TimeSpan maxWait;
    private readonly Task worker;
    private int preparing;

    /// <summary>Starts the worker.</summary>
    public ScoringBatcher(ScoringModel model, BatchingOptions options, BatchStatistics statistics, ILogger<ScoringBatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.model = model;
        this.statistics = statistics;
        this.logger = logger;
        maxBatch = options.MaxBatchSize;
        maxWait = TimeSpan.FromMilliseconds(options.MaxWaitMilliseconds);
        worker = Task.Run(RunAsync);
    }

    /// <summary>
    /// Announces an image that will be scored soon (its request is admitted and being read or decoded), so a forming
    /// batch may wait for it. Dispose the result, or call <see cref="Reservation.ScoreAsync"/>, exactly once.
    /// </summary>
    public Reservation Reserve()
    {
        Interlocked.Increment(ref preparing);
        return new Reservation(this);
    }

    /// <summary>One announced image.</summary>
    public sealed class Reservation : IDisposable
    {
        private ScoringBatcher? owner;

        internal Reservation(ScoringBatcher owner) => this.owner = owner;

        /// <summary>Queues <paramref name="pixels"/> (C·H·W) and returns its class probabilities.</summary>
        public Task<float[]> ScoreAsync(float[] pixels, CancellationToken cancellationToken)
        {
            var batcher = owner ?? throw new InvalidOperationException("This reservation was already used.");
            Dispose();
            return batcher.EnqueueAsync(pixels, cancellationToken);
        }

        /// <summary>Withdraws the announcement (the image failed before scoring).</summary>
        public void Dispose()
        {
            var batcher = Interlocked.Exchange(ref owner, null);
            if (batcher is not null) Interlocked.Decrement(ref batcher.preparing);
        }
    }

    private Task<float[]> EnqueueAsync(float[] pixels, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length != model.PixelsPerImage)
            throw new ArgumentException($"Expected {model.PixelsPerImage} pixels, got {pixels.Length}.", nameof(pixels));
        var job = new Job(pixels, cancellationToken);
        if (!channel.Writer.TryWrite(job)) throw new ObjectDisposedException(nameof(ScoringBatcher), "The service is shutting down.");
        return job.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<Job>(maxBatch);
        var buffer = new float[checked(maxBatch * model.PixelsPerImage)];
        var reader = channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            Take(reader, batch);
            if (batch.Count > 0 && batch.Count < maxBatch && maxWait > TimeSpan.Zero)
            {
                long deadline = Stopwatch.GetTimestamp() + (long)(maxWait.TotalSeconds * Stopwatch.Frequency);
                while (batch.Count < maxBatch && Volatile.Read(ref preparing) > 0)
                {
                    var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                    if (remaining <= TimeSpan.Zero) break;
                    var more = reader.WaitToReadAsync().AsTask();
                    if (await Task.WhenAny(more, Task.Delay(remaining)).ConfigureAwait(false) != more || !await more.ConfigureAwait(false)) break;
                    Take(reader, batch);
                }
            }
            if (batch.Count > 0) Score(batch, buffer);
        }
    }

    /// <summary>Moves queued jobs into <paramref name="batch"/> (up to the cap), dropping those whose request was abandoned.</summary>
    private void Take(ChannelReader<Job> reader, List<Job> batch)
    {
        while (batch.Count < maxBatch && reader.TryRead(out var job))
            if (!job.IsAbandoned) batch.Add(job);
    }

    private void Score(List<Job> batch, float[] buffer)
    {
        int n = batch.Count, size = model.PixelsPerImage;
        try
        {
            for (int i = 0; i < n; i++) batch[i].Pixels.CopyTo(buffer, i * size);
            var probabilities = model.Score(buffer, n);
            statistics.RecordBatch(n);
            int classes = probabilities.Length / n;
            for (int i = 0; i < n; i++) batch[i].Complete(probabilities.AsSpan(i * classes, classes).ToArray());
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Scoring a batch of {Count} image(s) failed", n);
            foreach (var job in batch) job.Fail(ex);
        }
    }

    /// <summary>Closes the queue, lets the worker score what is queued, and waits for it.</summary>
    public async ValueTask DisposeAsync()
    {
        channel.Writer.TryComplete();
        await worker.ConfigureAwait(false);
    }

    /// <summary>Synchronous <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private sealed class Job
    {
        private readonly TaskCompletionSource<float[]> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenRegistration registration;

        public Job(float[] pixels, CancellationToken cancellationToken)
        {
            Pixels = pixels;
            registration = cancellationToken.Register(static (state, token) => ((Job)state!).completion.TrySetCanceled(token), this);
        }

        public float[] Pixels { get; }

        public Task<float[]> Task => completion.Task;

        /// <summary>The request gave up (timed out or the client disconnected): no need to score it.</summary>
        public bool IsAbandoned => completion.Task.IsCompleted;

        public void Complete(float[] probabilities)
        {
            registration.Dispose();
            completion.TrySetResult(probabilities);
        }

        public void Fail(Exception error)
        {
            registration.Dispose();
            completion.TrySetException(error);
        }
    }
}
