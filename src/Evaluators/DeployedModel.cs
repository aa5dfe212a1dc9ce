using DqMlNet.Models;
using DqMlNet.Quantization;
using DqMlNet.Transforms;
using DqMlNet.Transforms.Onnx;

namespace DqMlNet.Evaluators;

/// <summary>
/// An ONNX export as it ships, ready to be evaluated: the ONNX Runtime session that judges and its differentiable twin
/// (<see cref="DeployedReplica"/>) that every gradient comes from. Build it from the file, its bytes, or a fitted stage
/// (which holds its export's bytes, so a stage and the same stage reloaded from its zip evaluate identically).
/// </summary>
public sealed class DeployedModel : IDisposable
{
    private readonly bool ownsSession;

    private DeployedModel(OnnxClassifier session, bool ownsSession, byte[] onnx)
    {
        this.ownsSession = ownsSession;
        Session = session;
        try
        {
            var proto = OnnxModelLoader.ReadModel(onnx);
            Spec = OnnxModelLoader.ReadSpec(proto);
            Replica = DeployedReplica.Load(proto);
        }
        catch
        {
            if (ownsSession) session.Dispose();
            throw;
        }
        Classifier = new DeployedClassifier(Session, Replica);
        ProxyClassifier = Spec.IsQuantized ? new DeployedClassifier(Session, Replica, QuantizerGradient.SmoothProxy) : Classifier;
    }

    /// <summary>
    /// Opens an ONNX file written by DqMlNet's exporter. The file is read once, at most
    /// <see cref="ModelFileLimits.MaxModelBytes"/> bytes, so the session and the twin see the same bytes.
    /// </summary>
    public static DeployedModel FromFile(string path, OnnxClassifierOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX file '{path}' does not exist.", path);
        byte[] bytes = ReadCapped(path);
        try
        {
            return FromBytes(bytes, options);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"ONNX file '{path}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Whether <paramref name="model"/> carries the model spec DqMlNet's exporter writes, i.e. whether a differentiable
    /// replica can be built from it (<see cref="FromFile"/>); a foreign ONNX file can only be attacked score-only
    /// through <see cref="OnnxClassifier"/>.
    /// </summary>
    public static bool IsDqMlNetExport(OnnxClassifier model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Metadata.ContainsKey(OnnxMetadataKeys.ModelSpec);
    }

    // Reads in chunks and stops past the cap: the length on disk may change after it was checked.
    private static byte[] ReadCapped(string path)
    {
        long cap = ModelFileLimits.MaxModelBytes;
        using var stream = File.OpenRead(path);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > cap)
                throw new InvalidDataException($"ONNX file '{path}' has more than {cap:N0} bytes, the limit. {ModelFileLimits.RaiseHint}");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>Opens ONNX bytes written by DqMlNet's exporter.</summary>
    public static DeployedModel FromBytes(byte[] onnx, OnnxClassifierOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onnx);
        return new DeployedModel(new OnnxClassifier(onnx, options), ownsSession: true, onnx);
    }

    /// <summary>The deployed model of a fitted (or loaded) stage: its own ONNX Runtime session and export bytes.</summary>
    public static DeployedModel FromStage(DefensiveQuantizationTransformer stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return new DeployedModel(stage.Scorer.Classifier, ownsSession: false, stage.Scorer.Onnx);
    }

    /// <summary>The model spec the file was exported from (as trained).</summary>
    public ModelSpec Spec { get; }

    /// <summary>The ONNX Runtime session: the judge of every attack.</summary>
    public OnnxClassifier Session { get; }

    /// <summary>The differentiable twin (the file's weights, folded BatchNorm, activation grid).</summary>
    public DqModel Replica { get; }

    /// <summary>Judge = ONNX Runtime logits, gradients = the twin with straight-through quantizers (this library's BPDA).</summary>
    public DeployedClassifier Classifier { get; }

    /// <summary>Judge = ONNX Runtime logits, gradients = the twin's smooth proxy (un-quantized ReLU6); <see cref="Classifier"/> for full precision.</summary>
    public DeployedClassifier ProxyClassifier { get; }

    /// <summary>Releases the twin and, unless it belongs to a stage, the session.</summary>
    public void Dispose()
    {
        Replica.Dispose();
        if (ownsSession) Session.Dispose();
    }
}
