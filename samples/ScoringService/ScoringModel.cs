using System.Text.Json;
using DqMlNet.Evaluators;
using DqMlNet.Models;
using DqMlNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Samples.ScoringService;

/// <summary>
/// The served model: a saved DqMlNet zip loaded with <see cref="DqModelFile.Load"/> (typed: scalar PredictedLabel,
/// the TorchSharp model's spec and class names). Images are decoded with ML.NET's MLImage and converted to the
/// model's C×H×W pixels in [0, 1] by <see cref="ImagePixels"/> (iso-crop resize, red channel for grey models, as
/// ResizeImages + ExtractPixels do), then scored by the DQ stage. Every request builds its own one-row view over the
/// shared, thread-safe DqTransformer, so scoring is thread-safe (no PredictionEngine is shared).
/// </summary>
public sealed class ScoringModel : IDisposable
{
    private readonly MLContext ml;
    private readonly ITransformer loaded;
    private readonly DqTransformer stage;
    private readonly SchemaDefinition inputDefinition;
    private readonly int channels, height, width;

    private ScoringModel(string path, MLContext ml, ITransformer loaded, DqTransformer stage, ModelInfo info)
    {
        this.ml = ml;
        this.loaded = loaded;
        this.stage = stage;
        Path = path;
        Info = info;
        var spec = stage.Model.Spec;
        channels = spec.Channels;
        height = spec.Height;
        width = spec.Width;
        inputDefinition = SchemaDefinition.Create(typeof(PixelInput));
        var column = inputDefinition[nameof(PixelInput.Features)];
        column.ColumnType = new VectorDataViewType(NumberDataViewType.Single, channels * height * width);
        column.ColumnName = stage.Columns.Features;
    }

    /// <summary>The model file.</summary>
    public string Path { get; }

    /// <summary>What GET /model returns.</summary>
    public ModelInfo Info { get; }

    /// <summary>Loads a DqMlNet ML.NET zip; throws with a clear message when the file is missing or holds no DQ stage.</summary>
    public static ScoringModel Load(string path, ILogger? logger = null)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"Model file '{full}' does not exist (configured by Model:Path).", full);
        var ml = new MLContext(seed: 0);
        var loaded = DqModelFile.Load(ml, full, out _);
        var stage = FindStage(loaded)
            ?? throw new InvalidDataException($"'{full}' holds no DqMlNet stage.");
        var info = ModelInfo.Create(full, stage, logger);
        logger?.LogInformation("Loaded {Model}: {Description}, classes {Classes}", info.Name, info.Description, string.Join(", ", info.ClassNames));
        return new ScoringModel(full, ml, loaded, stage, info);
    }

    /// <summary>Decodes and scores one PNG/JPEG image. Throws <see cref="InvalidImageException"/> for bad input.</summary>
    public Prediction Predict(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (!IsPng(bytes) && !IsJpeg(bytes))
            throw new InvalidImageException("Unsupported or unrecognised image format: send a PNG or JPEG image.");
        MLImage image;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            image = MLImage.CreateFromStream(stream);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or NotSupportedException or NullReferenceException)
        {
            throw new InvalidImageException($"The image could not be decoded ({ex.Message.TrimEnd('.')}); send a valid PNG or JPEG file.");
        }
        using (image)
        {
            if (image.Width < 1 || image.Height < 1)
                throw new InvalidImageException("The image has no pixels.");
            var pixels = ImagePixels.Extract(image, channels, height, width);
            var view = ml.Data.LoadFromEnumerable(new[] { new PixelInput { Features = pixels } }, inputDefinition);
            var scored = stage.Transform(view);
            var scoreColumn = scored.Schema[stage.Columns.Score];
            var labelColumn = scored.Schema[stage.Columns.PredictedLabel];
            using var cursor = scored.GetRowCursor(new[] { scoreColumn, labelColumn });
            var getScore = cursor.GetGetter<VBuffer<float>>(scoreColumn);
            var getLabel = cursor.GetGetter<uint>(labelColumn);
            if (!cursor.MoveNext()) throw new InvalidOperationException("The model returned no row.");
            VBuffer<float> scores = default;
            uint key = 0;
            getScore(ref scores);
            getLabel(ref key);
            var values = scores.DenseValues().ToArray();
            var names = stage.ClassNames;
            var probabilities = new Dictionary<string, float>(names.Count);
            for (int k = 0; k < names.Count; k++) probabilities.TryAdd(names[k], values[k]);
            return new Prediction(key >= 1 && key <= names.Count ? names[(int)key - 1] : "", probabilities);
        }
    }

    private static bool IsPng(byte[] b) => b.Length >= 8 && b[0] == 0x89 && b[1] == 0x50 && b[2] == 0x4E && b[3] == 0x47;

    private static bool IsJpeg(byte[] b) => b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;

    private static DqTransformer? FindStage(ITransformer transformer) => transformer switch
    {
        DqTransformer stage => stage,
        IEnumerable<ITransformer> chain => chain.Select(FindStage).FirstOrDefault(s => s is not null),
        _ => null,
    };

    /// <summary>Releases the model.</summary>
    public void Dispose() => (loaded as IDisposable)?.Dispose();

    private sealed class PixelInput
    {
        public float[] Features { get; set; } = Array.Empty<float>();
    }
}

/// <summary>Result of POST /predict.</summary>
/// <param name="Label">The predicted class name.</param>
/// <param name="Probabilities">Probability per class name, in class order.</param>
public sealed record Prediction(string Label, IReadOnlyDictionary<string, float> Probabilities);

/// <summary>An image that cannot be scored (undecodable, unsupported format, empty).</summary>
public sealed class InvalidImageException(string message) : Exception(message);

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

    internal static ModelInfo Create(string path, DqTransformer stage, ILogger? logger)
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
