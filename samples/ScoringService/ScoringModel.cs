using System.Text.Json;
using DqMlNet.Evaluators;
using DqMlNet.Models;
using DqMlNet.Transforms;
using Microsoft.ML;

namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// The served model: a saved DqMlNet zip loaded with <see cref="DqModelFile.Load"/> (typed: the DQ stage with the
/// model's spec and class names). <see cref="Score"/> runs the stage's ONNX Runtime session on flat C×H×W pixels
/// directly (the numbers of the stage's <c>Score</c> column, without a per-request data view); it is thread-safe.
/// The service's request path is <see cref="ImageInspector"/> → <see cref="ImageDecoder"/> → <see cref="ImagePixels"/>
/// → <see cref="ScoringBatcher"/> → <see cref="Score"/>.
/// </summary>
public sealed class ScoringModel : IDisposable
{
    private readonly ITransformer loaded;
    private readonly DefensiveQuantizationTransformer stage;
    private readonly ILogger? logger;
    private volatile bool disposed;

    private ScoringModel(string path, ITransformer loaded, DefensiveQuantizationTransformer stage, ModelInfo info, ILogger? logger)
    {
        this.loaded = loaded;
        this.stage = stage;
        this.logger = logger;
        Path = path;
        Info = info;
        var spec = stage.Model.Spec;
        Channels = spec.Channels;
        Height = spec.Height;
        Width = spec.Width;
        PixelsPerImage = checked(Channels * Height * Width);
        ClassNames = stage.ClassNames.ToArray();
    }

    /// <summary>The model file.</summary>
    public string Path { get; }

    /// <summary>What GET /model returns.</summary>
    public ModelInfo Info { get; }

    /// <summary>Input channels (1: grey, read from the red channel; 3: RGB).</summary>
    public int Channels { get; }

    /// <summary>Input height.</summary>
    public int Height { get; }

    /// <summary>Input width.</summary>
    public int Width { get; }

    /// <summary>C·H·W.</summary>
    public int PixelsPerImage { get; }

    /// <summary>Class names in output order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Whether <see cref="Dispose"/> ran (the ONNX Runtime session is released).</summary>
    public bool IsDisposed => disposed;

    /// <summary>Loads a DqMlNet ML.NET zip; throws with a clear message when the file is missing or holds no DQ stage.</summary>
    public static ScoringModel Load(string path, ILogger? logger = null)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"Model file '{full}' does not exist (configured by Model:Path).", full);
        var ml = new MLContext(seed: 0);
        var loaded = DqModelFile.Load(ml, full, out _);
        var stage = FindStage(loaded);
        if (stage is null)
        {
            (loaded as IDisposable)?.Dispose();
            throw new InvalidDataException($"'{full}' holds no DqMlNet stage.");
        }
        var info = ModelInfo.Create(full, stage, logger);
        logger?.LogInformation("Loaded {Model}: {Description}, classes {Classes}", info.Name, info.Description, string.Join(", ", info.ClassNames));
        return new ScoringModel(full, loaded, stage, info, logger);
    }

    /// <summary>
    /// Class probabilities, row-major [<paramref name="count"/> × classes], of <paramref name="count"/> images of
    /// <see cref="PixelsPerImage"/> pixels in [0, 1] at the start of <paramref name="pixels"/>.
    /// </summary>
    public float[] Score(float[] pixels, int count)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return stage.ScorePixels(pixels, count);
    }

    /// <summary>The response for one image's probabilities (label: the first class of highest probability).</summary>
    public Prediction ToPrediction(ReadOnlySpan<float> probabilities)
    {
        if (probabilities.Length != ClassNames.Count)
            throw new ArgumentException($"Expected {ClassNames.Count} probabilities, got {probabilities.Length}.", nameof(probabilities));
        int best = 0;
        for (int k = 1; k < probabilities.Length; k++) if (probabilities[k] > probabilities[best]) best = k;
        var named = new Dictionary<string, float>(ClassNames.Count);
        for (int k = 0; k < ClassNames.Count; k++) named.TryAdd(ClassNames[k], probabilities[k]);
        return new Prediction(ClassNames[best], named);
    }

    private static DefensiveQuantizationTransformer? FindStage(ITransformer transformer) => transformer switch
    {
        DefensiveQuantizationTransformer stage => stage,
        IEnumerable<ITransformer> chain => chain.Select(FindStage).FirstOrDefault(s => s is not null),
        _ => null,
    };

    /// <summary>Releases the model (the service calls this only after the server has stopped and the batcher drained).</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        (loaded as IDisposable)?.Dispose();
        logger?.LogInformation("Model {Model} released", Info.Name);
    }
}

/// <summary>Result of POST /predict.</summary>
/// <param name="Label">The predicted class name.</param>
/// <param name="Probabilities">Probability per class name, in class order.</param>
public sealed record Prediction(string Label, IReadOnlyDictionary<string, float> Probabilities);

/// <summary>What GET /model returns.</summary>
public sealed record ModelInfo
{
    /// <summary>File name of the model zip.</summary>
    public string Name { get; init; } = "";

    /// <summary>"SmallCnn DQ-4, input 1×28×28, 10 classes"-style description.</summary>
    public string Description { get; init; } = "";

    /// <summary>Network family.</summary>
    public string Architecture { get; init; } = "";

    /// <summary>FullPrecision, Vanilla (VQ) or Defensive (DQ).</summary>
    public string Mode { get; init; } = "";

    /// <summary>Activation bits (null for full precision).</summary>
    public int? ActivationBits { get; init; }

    /// <summary>Weight bits, or null for float weights.</summary>
    public int? WeightBits { get; init; }

    /// <summary>Lipschitz regulariser β, if known (from a <c>&lt;model&gt;.training.json</c> written by <c>dq train</c>).</summary>
    public double? Beta { get; init; }

    /// <summary>Class names in output order.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = Array.Empty<string>();

    /// <summary>Input shape [C, H, W]; images are resized to H×W.</summary>
    public IReadOnlyList<long> InputShape { get; init; } = Array.Empty<long>();

    /// <summary>Summary of <c>&lt;model&gt;.robustness.json</c> next to the zip, if present.</summary>
    public RobustnessSummary? Robustness { get; init; }

    internal static ModelInfo Create(string path, DefensiveQuantizationTransformer stage, ILogger? logger)
    {
        var spec = stage.Model.Spec;
        var stem = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path)!, System.IO.Path.GetFileNameWithoutExtension(path));
        return new ModelInfo
        {
            Name = System.IO.Path.GetFileName(path),
            Description = RobustnessEvaluator.Describe(spec),
            Architecture = spec.Architecture.ToString(),
            Mode = spec.Mode.ToString(),
            ActivationBits = spec.IsQuantized ? spec.ActivationBits : null,
            WeightBits = spec.WeightBits,
            Beta = DqMlNet.Data.SideFile.BelongsTo(stem + ".training.json", path, w => logger?.LogWarning("{Warning}", w)) ? ReadBeta(stem + ".training.json", logger) : null,
            ClassNames = stage.ClassNames.ToArray(),
            InputShape = spec.InputShape,
            Robustness = DqMlNet.Data.SideFile.BelongsTo(stem + ".robustness.json", path, w => logger?.LogWarning("{Warning}", w)) ? RobustnessSummary.TryRead(stem + ".robustness.json", logger) : null,
        };
    }

    private static double? ReadBeta(string path, ILogger? logger)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.TryGetProperty("beta", out var beta) && beta.ValueKind == JsonValueKind.Number ? beta.GetDouble() : null;
        }
        catch (Exception ex) when (ex is JsonException or IOException)
        {
            logger?.LogWarning("Ignoring {Path}: {Message}", path, ex.Message);
            return null;
        }
    }
}

/// <summary>The headline numbers of a robustness report.</summary>
public sealed record RobustnessSummary
{
    /// <summary>The report file.</summary>
    public string File { get; init; } = "";

    /// <summary>Model description recorded in the report.</summary>
    public string Model { get; init; } = "";

    /// <summary>Threat model.</summary>
    public string ThreatModel { get; init; } = "";

    /// <summary>Images evaluated.</summary>
    public int N { get; init; }

    /// <summary>Clean accuracy.</summary>
    public double CleanAccuracy { get; init; }

    /// <summary>Per ε: worst-case robust accuracy over all attacks.</summary>
    public IReadOnlyList<WorstCaseResult> WorstCase { get; init; } = Array.Empty<WorstCaseResult>();

    /// <summary>Robust accuracy per attack and ε.</summary>
    public IReadOnlyList<AttackSummary> Attacks { get; init; } = Array.Empty<AttackSummary>();

    /// <summary>Gradient-masking and consistency warnings.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    internal static RobustnessSummary? TryRead(string path, ILogger? logger)
    {
        if (!System.IO.File.Exists(path)) return null;
        try
        {
            var report = ReportWriter.ReadJson(path);
            return new RobustnessSummary
            {
                File = System.IO.Path.GetFileName(path),
                Model = report.Model,
                ThreatModel = report.ThreatModel,
                N = report.N,
                CleanAccuracy = report.CleanAccuracy,
                WorstCase = report.WorstCase,
                Attacks = report.Attacks.Select(a => new AttackSummary(a.Name, a.Epsilon, a.RobustAccuracy)).ToArray(),
                Warnings = report.Warnings,
            };
        }
        catch (Exception ex) when (ex is JsonException or IOException or InvalidDataException)
        {
            logger?.LogWarning("Ignoring robustness report {Path}: {Message}", path, ex.Message);
            return null;
        }
    }
}

/// <summary>Robust accuracy of one attack at one ε.</summary>
public sealed record AttackSummary(string Name, double Epsilon, double RobustAccuracy);
