using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// Readiness: the service is ready when it is not shutting down and the built-in <see cref="ProbeImage"/> scores end to
/// end (header checks, decoder, pixels, batcher, ONNX Runtime) to finite probabilities that sum to 1. A result is
/// reused for Health:ProbeCacheSeconds so that frequent probes cannot load the model; one probe runs at a time.
/// </summary>
internal sealed class ReadinessCheck(PredictionPipeline pipeline, IHostApplicationLifetime lifetime, HealthOptions options) : IHealthCheck
{
    private readonly byte[] probe = ProbeImage.Png(pipeline.Model.Width, pipeline.Model.Height);
    private readonly SemaphoreSlim gate = new(1, 1);
    private HealthCheckResult? cached;
    private long cachedAt;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
            return HealthCheckResult.Unhealthy("The service is shutting down: finishing the requests in flight.");
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (cached is { } result && System.Diagnostics.Stopwatch.GetElapsedTime(cachedAt).TotalSeconds < options.ProbeCacheSeconds) return result;
            result = await ProbeAsync(cancellationToken);
            cached = result;
            cachedAt = System.Diagnostics.Stopwatch.GetTimestamp();
            return result;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<HealthCheckResult> ProbeAsync(CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var prediction = await pipeline.PredictAsync(probe, cancellationToken);
            var values = prediction.Probabilities.Values.ToArray();
            double sum = values.Sum(v => (double)v);
            if (values.Length != pipeline.Model.ClassNames.Count || values.Any(v => !float.IsFinite(v) || v < 0 || v > 1) || Math.Abs(sum - 1) > 1e-3)
                return HealthCheckResult.Unhealthy($"The probe image scored to invalid probabilities (sum {sum:G6}); the model file may hold broken weights.");
            var ms = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            return HealthCheckResult.Healthy($"Probe image scored as '{prediction.Label}' in {ms:F1} ms.",
                new Dictionary<string, object> { ["probeLabel"] = prediction.Label, ["probeMilliseconds"] = Math.Round(ms, 2) });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy($"Scoring the probe image failed: {ex.Message}", ex);
        }
    }
}
