// DqMlNet scoring service: serves a saved DqMlNet ML.NET model zip over HTTP.
//   dotnet run --project samples/ScoringService -- --model path/to/model.zip
// The model path comes from configuration key Model:Path (appsettings.json, env var Model__Path, --Model:Path=… or --model …).
// Endpoints: POST /predict (multipart field "file" or a raw PNG/JPEG body), GET /health, GET /model.
using System.Globalization;
using DqMlNet.Samples.ScoringService;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--model"] = "Model:Path", ["-m"] = "Model:Path" });
builder.Services.AddSingleton(sp =>
{
    var config = sp.GetRequiredService<IConfiguration>();
    var path = config["Model:Path"];
    if (string.IsNullOrWhiteSpace(path))
        throw new InvalidOperationException(
            "No model configured. Set Model:Path (appsettings.json), the environment variable Model__Path, or pass --model <model.zip>.");
    return ScoringModel.Load(path, sp.GetRequiredService<ILogger<ScoringModel>>());
});

var app = builder.Build();
var model = app.Services.GetRequiredService<ScoringModel>(); // load at start: a bad path fails fast
long maxBytes = app.Configuration.GetValue<long?>("Model:MaxImageBytes") ?? 10 * 1024 * 1024;

app.MapGet("/health", () => Results.Ok(new { status = "ok", model = model.Info.Name }));
app.MapGet("/model", () => Results.Ok(model.Info));
app.MapPost("/predict", (HttpRequest request, CancellationToken ct) => PredictEndpoint.Handle(request, model, maxBytes, ct))
   .DisableAntiforgery();

app.Run();

/// <summary>Entry point (public for WebApplicationFactory in tests).</summary>
public partial class Program;
