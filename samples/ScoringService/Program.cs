// DqMlNet scoring service: serves a saved DqMlNet ML.NET model zip over HTTP.
//   dotnet run --project samples/ScoringService -- --model path/to/model.zip
// The model path comes from configuration key Model:Path (appsettings.json, env var Model__Path, --Model:Path=… or --model …).
// Endpoints: POST /predict (multipart field "file" or a raw PNG/JPEG body), GET /model, GET /metrics,
// GET /health and /health/live (liveness), GET /health/ready (readiness: scores a built-in probe image).
// Limits (pixel cap, concurrency limiter, timeout, batching) and their configuration keys: docs/apps.md.
using System.Globalization;
using System.Threading.RateLimiting;
using DqMlNet.Samples.ScoringService;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
// Process-wide tuning is the application's call. The service scores with ONNX Runtime, so LibTorch's threads are left
// alone (and its native library unloaded); the allocator settings keep batch buffers mapped between requests.
DqMlNet.Runtime.DqRuntime.ConfigureProcess(threads: null, tuneMalloc: true);
var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--model"] = "Model:Path", ["-m"] = "Model:Path" });
var services = builder.Services;

// Options, validated at start so that a bad value stops the service with a message naming the key.
services.AddSingleton(sp => Bind<ImageLimitOptions>(sp, ImageLimitOptions.Section, o => o.Validate()));
services.AddSingleton(sp => Bind<LoadLimitOptions>(sp, LoadLimitOptions.Section, o => o.Validate()));
services.AddSingleton(sp => Bind<BatchingOptions>(sp, BatchingOptions.Section, o => o.Validate()));
services.AddSingleton(sp => Bind<HealthOptions>(sp, HealthOptions.Section, o => o.Validate()));

// The model, the batcher in front of it and the request path. The container disposes them in reverse order of
// creation when the host is disposed, i.e. after the server has stopped and drained its requests: first the batcher
// (closes its queue, scores what is queued), then the model (releases the ONNX Runtime session).
services.AddSingleton(sp =>
{
    var path = sp.GetRequiredService<IConfiguration>()["Model:Path"];
    if (string.IsNullOrWhiteSpace(path))
        throw new InvalidOperationException(
            "No model configured. Set Model:Path (appsettings.json), the environment variable Model__Path, or pass --model <model.zip>.");
    return ScoringModel.Load(path, sp.GetRequiredService<ILogger<ScoringModel>>());
});
services.AddSingleton(sp => new BatchStatistics(sp.GetRequiredService<BatchingOptions>().MaxBatchSize, sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
services.AddSingleton<ScoringBatcher>();
services.AddSingleton<PredictionPipeline>();

// Errors: every error response is RFC 7807 problem JSON (unhandled exceptions, empty-bodied statuses, explicit problems).
services.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Extensions["traceId"] = c.HttpContext.TraceIdentifier);

// Load shedding: a concurrency limiter on POST /predict (503 + Retry-After when the slots and the queue are full) and
// a time budget per request (503 + Retry-After when exceeded). Health endpoints are not limited.
services.AddRateLimiter(_ => { });
services.AddOptions<RateLimiterOptions>().Configure<IServiceProvider>((o, sp) =>
{
    var limits = sp.GetRequiredService<LoadLimitOptions>();
    o.RejectionStatusCode = StatusCodes.Status503ServiceUnavailable;
    o.AddConcurrencyLimiter(Policies.Predict, c =>
    {
        c.PermitLimit = limits.ConcurrentRequests;
        c.QueueLimit = limits.QueuedRequests;
        c.QueueProcessingOrder = QueueProcessingOrder.OldestFirst;
    });
    o.OnRejected = (context, ct) =>
    {
        context.HttpContext.RequestServices.GetRequiredService<BatchStatistics>().RecordRejected();
        return Overloaded(context.HttpContext, limits, "Service overloaded",
            $"All {limits.ConcurrentRequests} scoring slots and {limits.QueuedRequests} queue places are taken; retry after {limits.RetryAfterSeconds} s.");
    };
});
services.AddRequestTimeouts();
services.AddOptions<RequestTimeoutOptions>().Configure<IServiceProvider>((o, sp) =>
{
    var limits = sp.GetRequiredService<LoadLimitOptions>();
    o.AddPolicy(Policies.Predict, new RequestTimeoutPolicy
    {
        Timeout = TimeSpan.FromSeconds(limits.RequestTimeoutSeconds),
        TimeoutStatusCode = StatusCodes.Status503ServiceUnavailable,
        WriteTimeoutResponse = context =>
        {
            context.RequestServices.GetRequiredService<BatchStatistics>().RecordTimeout();
            return Overloaded(context, limits, "Request timed out",
                $"The request did not finish within {limits.RequestTimeoutSeconds:G} s (Limits:RequestTimeoutSeconds); retry after {limits.RetryAfterSeconds} s.").AsTask();
        },
    });
});

// Health: liveness (the process answers) and readiness (a probe image scores; not ready while shutting down).
services.AddSingleton<ReadinessCheck>();
services.AddHealthChecks()
    .AddCheck("process", () => HealthCheckResult.Healthy("The process is serving requests."), tags: [Policies.Live])
    .AddCheck<ReadinessCheck>("model", tags: [Policies.Ready]);

// Graceful shutdown: on SIGTERM the server stops accepting connections and waits this long for requests in flight.
services.AddOptions<HostOptions>().Configure<IServiceProvider>((o, sp) =>
    o.ShutdownTimeout = TimeSpan.FromSeconds(sp.GetRequiredService<LoadLimitOptions>().ShutdownTimeoutSeconds));

var app = builder.Build();
// Load at start: a bad path, model file or option fails fast instead of at the first request.
var model = app.Services.GetRequiredService<ScoringModel>();
app.Services.GetRequiredService<ImageLimitOptions>();
app.Services.GetRequiredService<LoadLimitOptions>();
app.Services.GetRequiredService<PredictionPipeline>();
app.Services.GetRequiredService<HealthOptions>();
var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
lifetime.ApplicationStopping.Register(() => app.Logger.LogInformation("Stopping: finishing the requests in flight before the model is released"));

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestTimeouts();
app.UseRateLimiter();

var liveness = new HealthCheckOptions { Predicate = r => r.Tags.Contains(Policies.Live), ResponseWriter = HealthResponse.Writer(model.Info.Name) };
app.MapHealthChecks("/health", liveness);
app.MapHealthChecks("/health/live", liveness);
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = r => r.Tags.Contains(Policies.Ready), ResponseWriter = HealthResponse.Writer(model.Info.Name) });
app.MapGet("/model", () => Results.Ok(model.Info));
app.MapGet("/metrics", (BatchStatistics statistics, BatchingOptions batching) => Results.Ok(new
{
    batching = new { batching.MaxBatchSize, batching.MaxWaitMilliseconds },
    counters = statistics.Snapshot(),
    memory = MemorySnapshot(),
}));
var predict = app.MapPost("/predict", PredictEndpoint.Handle)
   .DisableAntiforgery()
   .RequireRateLimiting(Policies.Predict)
   .WithRequestTimeout(Policies.Predict);
// Endpoint filters registered as services (authentication, auditing, fault injection in tests) wrap POST /predict.
foreach (var filter in app.Services.GetServices<IEndpointFilter>()) predict.AddEndpointFilter(filter);

app.Run();

static T Bind<T>(IServiceProvider sp, string section, Action<T> validate) where T : new()
{
    var options = new T();
    sp.GetRequiredService<IConfiguration>().GetSection(section).Bind(options);
    validate(options);
    return options;
}

// Process memory, so a load test can tell managed-heap growth (a leak) from memory the GC keeps committed.
static object MemorySnapshot()
{
    var gc = GC.GetGCMemoryInfo();
    return new
    {
        workingSetBytes = Environment.WorkingSet,
        heapSizeAfterLastGcBytes = gc.HeapSizeBytes,
        gcCommittedBytes = gc.TotalCommittedBytes,
        gen2Collections = GC.CollectionCount(2),
    };
}

static async ValueTask Overloaded(HttpContext context, LoadLimitOptions limits, string title, string detail)
{
    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
    context.Response.Headers.RetryAfter = limits.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
    await context.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
    {
        HttpContext = context,
        ProblemDetails = { Status = StatusCodes.Status503ServiceUnavailable, Title = title, Detail = detail },
    });
}

/// <summary>Entry point (public for WebApplicationFactory in tests).</summary>
public partial class Program;

/// <summary>Names of the rate-limiting and timeout policies and of the health-check tags.</summary>
internal static class Policies
{
    public const string Predict = "predict";
    public const string Live = "live";
    public const string Ready = "ready";
}
