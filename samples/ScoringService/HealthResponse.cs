using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// Body of the health endpoints: <c>{"status": "ok" | "degraded" | "unhealthy", "model": "dq4.zip", "checks": {name:
/// {status, description, data}}}</c>; the status code is 200, or 503 when unhealthy.
/// </summary>
internal static class HealthResponse
{
    public static Func<HttpContext, HealthReport, Task> Writer(string modelName) => (context, report) =>
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = Name(report.Status),
            model = modelName,
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = Name(e.Value.Status),
                description = e.Value.Description,
                data = e.Value.Data.Count == 0 ? null : e.Value.Data,
            }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, JsonOptions, context.RequestAborted);
    };

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private static string Name(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "ok",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };
}
