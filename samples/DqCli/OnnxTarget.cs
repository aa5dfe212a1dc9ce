using System.Text.Json;
using DqMlNet.Attacks;
using DqMlNet.Data;
using DqMlNet.Evaluators;
using DqMlNet.Transforms.Onnx;

namespace DqMlNet.Cli;

/// <summary>
/// An ONNX file that <c>dq evaluate</c> attacks, opened as what it can honestly be attacked as. A DqMlNet export (it
/// carries the exporter's model spec) becomes a <see cref="DeployedModel"/>: white-box, ONNX Runtime judging every
/// candidate, the file's differentiable twin giving every gradient. Any other file is a score-only
/// <see cref="OnnxClassifier"/>: a gradient attack named for it is refused (exit code 2) instead of being skipped, so no
/// report silently lacks an attack the user asked for, and the report warns that score-based attacks alone give upper
/// bounds.
/// </summary>
internal sealed class OnnxTarget : IDisposable
{
    /// <summary>The suite of a foreign file when none is named: everything that needs no gradient.</summary>
    private static readonly string[] ScoreOnlyDefault = { "Square", "Noise" };

    private readonly FileInfo file;
    private readonly DeployedModel? deployed;
    private readonly OnnxClassifier? scoreOnly;

    private OnnxTarget(FileInfo file, DeployedModel? deployed, OnnxClassifier? scoreOnly, IReadOnlyList<AttackEntry> attacks)
    {
        this.file = file;
        this.deployed = deployed;
        this.scoreOnly = scoreOnly;
        Attacks = attacks;
    }

    /// <summary>The attacks to run: the named ones, else the default suite of this kind of file.</summary>
    public IReadOnlyList<AttackEntry> Attacks { get; }

    /// <summary>True for a DqMlNet export (white-box), false for a foreign file (score-only).</summary>
    public bool WhiteBox => deployed is not null;

    /// <summary>
    /// Opens <paramref name="file"/>. <paramref name="attacksFor"/> gives the attacks asked for (<c>--attacks</c> or
    /// <c>--suite</c>) for a quantized or a float model; null: the default suite: the light suite for an export, Square
    /// and Noise for a foreign file.
    /// </summary>
    public static OnnxTarget Open(FileInfo file, Func<bool, IReadOnlyList<AttackEntry>>? attacksFor, int steps, int queries)
    {
        OnnxClassifier? classifier = new(file.FullName);
        try
        {
            if (DeployedModel.IsDqMlNetExport(classifier))
            {
                classifier.Dispose();
                classifier = null;
                var model = DeployedModel.FromFile(file.FullName);
                return new OnnxTarget(file, model, null, attacksFor?.Invoke(model.Spec.IsQuantized) ?? AttackSuites.Light(model.Spec.IsQuantized, steps, queries));
            }
            // A foreign file has no spec: it is a float model as far as the suite is concerned.
            var named = attacksFor?.Invoke(false);
            if (named?.FirstOrDefault(a => a.SmoothProxy || a.Create(0.1).NeedsGradients) is { } white)
            {
                throw new CliException(ExitCodes.Usage,
                    $"'{white.Name}' needs gradients, but '{file.Name}' is not a DqMlNet export (no '{OnnxMetadataKeys.ModelSpec}' " +
                    "metadata), so it has no differentiable twin and is evaluated score-only, as a black box: use --attacks Square,Noise.");
            }
            var target = new OnnxTarget(file, null, classifier, named ?? ScoreOnlyDefault.Select(n => AttackEntry.Named(n, steps, queries)).ToArray());
            classifier = null; // the target owns it now
            return target;
        }
        finally
        {
            classifier?.Dispose();
        }
    }

    /// <summary>Evaluates the file on <paramref name="test"/>, labels put in the model's class order.</summary>
    public RobustnessReport Evaluate(ImageDataset test, RobustnessOptions options, IProgress<EvaluationProgress> progress)
    {
        var session = deployed?.Session ?? scoreOnly!;
        var shape = session.InputShape;
        EvaluateCommand.CheckShape((int)shape[0], (int)shape[1], (int)shape[2], test);
        if (session.NumClasses != test.NumClasses)
            throw new InvalidDataException($"The ONNX model has {session.NumClasses} outputs but Fashion-MNIST has {test.NumClasses} classes.");
        options = options with { Attacks = Attacks, ModelDescription = Describe() };
        var evaluator = new RobustnessEvaluator(options);
        var names = ClassNames(session);
        if (names is null || names.SequenceEqual(test.ClassNames)) return Run(evaluator, test, progress);

        // Reorder the labels to the model's class order.
        var index = test.ClassNames.Select(n => Array.IndexOf(names, n)).ToArray();
        if (index.Any(i => i < 0))
            throw new InvalidDataException($"The model's classes ({string.Join(", ", names)}) differ from Fashion-MNIST's.");
        var labels = test.Labels.data<long>().ToArray().Select(l => (long)index[l]).ToArray();
        using var remapped = ImageDataset.FromTensors(test.Images, TorchSharp.torch.tensor(labels), names);
        return Run(evaluator, remapped, progress);
    }

    private RobustnessReport Run(RobustnessEvaluator evaluator, ImageDataset data, IProgress<EvaluationProgress> progress) =>
        deployed is not null ? evaluator.Evaluate(deployed, data, progress) : evaluator.Evaluate((IClassifier)scoreOnly!, data, progress);

    private string Describe() => deployed is not null
        ? $"{file.Name}: {RobustnessEvaluator.Describe(deployed.Spec)} (ONNX export, white-box through its twin)"
        : $"{file.Name} (foreign ONNX classifier, score-only)";

    private string[]? ClassNames(OnnxClassifier session)
    {
        if (!session.Metadata.TryGetValue(OnnxMetadataKeys.ClassNames, out var json)) return null;
        try
        {
            return JsonSerializer.Deserialize<string[]>(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"ONNX file '{file.Name}': metadata '{OnnxMetadataKeys.ClassNames}' is not a JSON array of names ({e.Message}).", e);
        }
    }

    /// <summary>Releases the session (and the twin).</summary>
    public void Dispose()
    {
        deployed?.Dispose();
        scoreOnly?.Dispose();
    }
}
