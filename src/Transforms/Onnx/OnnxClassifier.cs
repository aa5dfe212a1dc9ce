using DqMlNet.Attacks;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using static TorchSharp.torch;

namespace DqMlNet.Transforms.Onnx;

/// <summary>
/// Scores image batches with an ONNX image classifier through one reused ONNX Runtime <see cref="InferenceSession"/>.
/// Works with DqMlNet exports and with any classifier that has a single float input [N, C, H, W] with fixed C, H, W and
/// a float output [N, classes]. Inputs and outputs are bound to managed/TorchSharp memory without copies.
/// <see cref="Predict(float[], int)"/>, <see cref="Predict(Tensor)"/> and <see cref="Logits"/> are thread-safe.
/// </summary>
/// <remarks>
/// As an <see cref="IClassifier"/> it is score-only (a black box): ONNX Runtime computes no input gradients, so
/// score-based attacks (<see cref="SquareAttack"/>) and transfer attacks run on it, and a gradient attack fails with a
/// clear error. To attack a DqMlNet export white-box, open it with <c>DeployedModel</c> (DqMlNet.Evaluators): gradients
/// then come from the file's differentiable replica (<see cref="DeployedReplica"/>) while this session still gives
/// every verdict.
/// </remarks>
public sealed class OnnxClassifier : IClassifier, IDisposable
{
    /// <summary>
    /// Floor under probabilities before taking their log, for files that output probabilities alone: log(max(p, 1e-30)).
    /// </summary>
    public const float ProbabilityFloor = 1e-30f;

    private readonly InferenceSession session;
    private readonly string[] outputNames;
    private readonly bool softmax;
    private readonly bool hasLogits;
    private readonly long[] inputDims; // [N, C, H, W], -1 where dynamic

    /// <summary>Opens an ONNX file.</summary>
    public OnnxClassifier(string path, OnnxClassifierOptions? options = null)
        : this(CreateSession(options, o =>
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"ONNX file '{path}' does not exist.", path);
            OnnxMetadataCheck.CheckFile(path);
            return new InferenceSession(path, o);
        }), options)
    {
    }

    /// <summary>Opens an ONNX model held in memory.</summary>
    public OnnxClassifier(byte[] model, OnnxClassifierOptions? options = null)
        : this(CreateSession(options, o =>
        {
            ArgumentNullException.ThrowIfNull(model);
            OnnxMetadataCheck.Check(model, "The ONNX model");
            return new InferenceSession(model, o);
        }), options)
    {
    }

    private OnnxClassifier(InferenceSession session, OnnxClassifierOptions? options)
    {
        this.session = session;
        try
        {
            options ??= new OnnxClassifierOptions();
            var inputs = session.InputMetadata;
            if (inputs.Count != 1)
                throw new NotSupportedException($"OnnxClassifier needs a model with exactly one input; this one has {inputs.Count} ({string.Join(", ", inputs.Keys)}).");
            var (inputName, input) = inputs.First();
            if (input.ElementDataType != TensorElementType.Float || input.Dimensions.Length != 4)
                throw new NotSupportedException(
                    $"OnnxClassifier needs a float input [N, C, H, W]; input '{inputName}' is {input.ElementDataType} with {input.Dimensions.Length} dimension(s).");
            InputName = inputName;
            inputDims = input.Dimensions.Select(d => (long)d).ToArray();

            var floatOutputs = session.OutputNames
                .Where(n => session.OutputMetadata[n].ElementDataType == TensorElementType.Float && session.OutputMetadata[n].Dimensions.Length == 2)
                .ToList();
            string scores = options.ScoresOutput
                ?? floatOutputs.FirstOrDefault(n => n == OnnxMetadataKeys.ProbabilitiesName)
                ?? floatOutputs.FirstOrDefault(n => n == OnnxMetadataKeys.LogitsName)
                ?? floatOutputs.FirstOrDefault()
                ?? throw new NotSupportedException(
                    $"OnnxClassifier needs a float output [N, classes]; outputs: {string.Join(", ", session.OutputNames)}.");
            if (!session.OutputMetadata.TryGetValue(scores, out var scoresMeta))
                throw new ArgumentException($"The model has no output '{scores}' (outputs: {string.Join(", ", session.OutputNames)}).", nameof(options));
            NumClasses = scoresMeta.Dimensions.Length == 2 && scoresMeta.Dimensions[1] > 0
                ? scoresMeta.Dimensions[1]
                : throw new NotSupportedException($"Output '{scores}' must have a fixed class dimension [N, classes].");
            softmax = options.ScoresAreLogits
                ?? !(scores.Contains("prob", StringComparison.OrdinalIgnoreCase) || scores.Contains("softmax", StringComparison.OrdinalIgnoreCase));
            ScoresOutput = scores;
            hasLogits = scores != OnnxMetadataKeys.LogitsName && floatOutputs.Contains(OnnxMetadataKeys.LogitsName);
            outputNames = hasLogits ? new[] { scores, OnnxMetadataKeys.LogitsName } : new[] { scores };
            Metadata = session.ModelMetadata.CustomMetadataMap;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static InferenceSession CreateSession(OnnxClassifierOptions? options, Func<SessionOptions, InferenceSession> open)
    {
        options ??= new OnnxClassifierOptions();
        using var so = new SessionOptions { GraphOptimizationLevel = options.OptimizationLevel };
        if (options.IntraOpThreads > 0) so.IntraOpNumThreads = options.IntraOpThreads;
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", options.AllowSpinning ? "1" : "0");
        if (options.OptimizedModelFilePath is not null) so.OptimizedModelFilePath = options.OptimizedModelFilePath;
        try
        {
            return open(so);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"ONNX Runtime could not load the model: {e.Message}", e);
        }
    }

    /// <summary>Name of the image input.</summary>
    public string InputName { get; }

    /// <summary>Name of the output used as scores.</summary>
    public string ScoresOutput { get; }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>
    /// True when every <see cref="OnnxPrediction.Logits"/> is filled: the model has a <c>logits</c> output besides its
    /// scores (DqMlNet exports do), or its scores are logits. Attacks need logits: margins recovered from probabilities
    /// as log(max(p, <see cref="ProbabilityFloor"/>)) stop at ln 10^30 ≈ 69, so a score-based attack cannot see a
    /// larger margin shrink. False only for files that output probabilities alone; <see cref="Logits"/> then falls back
    /// to log-probabilities.
    /// </summary>
    public bool ProvidesLogits => hasLogits || softmax;

    /// <summary>Input shape [C, H, W]; throws <see cref="NotSupportedException"/> when the file declares them dynamic.</summary>
    public long[] InputShape => inputDims.Skip(1).Any(d => d <= 0) ? throw DynamicImageShape() : inputDims[1..];

    /// <summary>Always the CPU: ONNX Runtime runs on the CPU here, and inputs on another device are copied.</summary>
    public Device Device => CPU;

    /// <summary>Always false: ONNX Runtime gives scores, not input gradients.</summary>
    public bool HasGradients => false;

    /// <summary>Always false: there is no surrogate (see <see cref="SurrogateLogits"/>).</summary>
    public bool SurrogateIsExact => false;

    /// <summary>Input dimensions [N, C, H, W] as declared by the model (−1 where dynamic).</summary>
    public IReadOnlyList<long> InputDimensions => inputDims;

    /// <summary>The model's metadata_props (see <see cref="OnnxMetadataKeys"/> for DqMlNet exports).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Scores <paramref name="count"/> images stored row-major [count, C, H, W] at the start of <paramref name="pixels"/>.</summary>
    public OnnxPrediction Predict(float[] pixels, int count)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var dims = ResolveShape(count);
        long needed = dims.Aggregate(1L, (a, b) => a * b);
        if (pixels.Length < needed)
            throw new ArgumentException($"{count} image(s) of shape [{string.Join(", ", dims.Skip(1))}] need {needed} floats; got {pixels.Length}.", nameof(pixels));
        if (count == 0) return Run(null, 0);
        using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(pixels, 0, (int)needed), dims);
        return Run(input, count);
    }

    /// <summary>Scores a float batch [N, C, H, W] (any device; copied to CPU only if needed).</summary>
    public OnnxPrediction Predict(Tensor batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.dim() != 4)
            throw new ArgumentException($"Expected a batch [N, C, H, W]; got shape [{string.Join(", ", batch.shape)}].", nameof(batch));
        using var scope = NewDisposeScope();
        var cpu = batch.cpu().to_type(ScalarType.Float32).contiguous();
        int count = checked((int)cpu.shape[0]);
        var dims = ResolveShape(count);
        if (!dims.Skip(1).SequenceEqual(cpu.shape.Skip(1)))
            throw new ArgumentException($"The model expects [N, {string.Join(", ", dims.Skip(1))}]; got [{string.Join(", ", batch.shape)}].", nameof(batch));
        if (count == 0) return Run(null, 0);
        unsafe
        {
            // A CPU tensor's bytes are its native storage: ONNX Runtime reads them in place.
            fixed (byte* data = cpu.bytes)
            {
                using var input = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, cpu.shape,
                    (IntPtr)data, cpu.numel() * sizeof(float));
                return Run(input, count);
            }
        }
    }

    /// <summary>Predicted labels of every image in <paramref name="images"/> [N, C, H, W], in batches.</summary>
    public int[] PredictLabels(Tensor images, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var labels = new int[images.shape[0]];
        for (long start = 0; start < images.shape[0]; start += batchSize)
        {
            using var scope = NewDisposeScope();
            long n = Math.Min(batchSize, images.shape[0] - start);
            Predict(images.narrow(0, start, n)).Labels.CopyTo(labels, (int)start);
        }
        return labels;
    }

    /// <summary>
    /// The file's logits for a batch [N, C, H, W] as a CPU tensor [N, classes]: its <c>logits</c> output when it has one
    /// (every DqMlNet export), or its scores when they are logits. A foreign file with probabilities alone gives
    /// log(max(p, <see cref="ProbabilityFloor"/>)): the same argmax and softmax, but margins stop at ≈ 69 (see
    /// <see cref="ProvidesLogits"/>).
    /// </summary>
    public Tensor Logits(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var detached = input.detach();
        var prediction = Predict(detached);
        var shape = new long[] { prediction.Count, NumClasses };
        if (prediction.Logits is { } logits) return tensor(logits, shape);
        using var probabilities = tensor(prediction.Probabilities, shape);
        return probabilities.clamp_min(ProbabilityFloor).log();
    }

    /// <summary>
    /// Always throws <see cref="NotSupportedException"/>: an ONNX Runtime session has no input gradients. Attacks check
    /// <see cref="HasGradients"/> first and refuse gradient attacks with a message naming the alternatives.
    /// </summary>
    public Tensor SurrogateLogits(Tensor input) =>
        throw new NotSupportedException(
            "An ONNX Runtime session is score-only: it has no input gradients. Use a score-based attack (SquareAttack), a " +
            "transfer attack, or, for a DqMlNet export, DeployedModel, whose gradients come from the file's differentiable replica.");

    /// <summary>Nothing to switch: the session is always in inference mode. Returns a no-op scope.</summary>
    public IDisposable BeginAttack() => NoState.Instance;

    private sealed class NoState : IDisposable
    {
        public static readonly NoState Instance = new();

        public void Dispose()
        {
        }
    }

    private long[] ResolveShape(int count)
    {
        var dims = inputDims.ToArray();
        dims[0] = count;
        if (dims.Skip(1).Any(d => d <= 0)) throw DynamicImageShape();
        if (inputDims[0] > 0 && inputDims[0] != count)
            throw new ArgumentException($"The model has a fixed batch size of {inputDims[0]}; got {count} image(s).");
        return dims;
    }

    private NotSupportedException DynamicImageShape() =>
        new($"Input '{InputName}' has dynamic image dimensions [{string.Join(", ", inputDims)}]; OnnxClassifier needs fixed C, H, W.");

    private OnnxPrediction Run(OrtValue? input, int count)
    {
        var probabilities = new float[count * NumClasses];
        float[]? logits = hasLogits ? new float[count * NumClasses] : null;
        var shape = new long[] { count, NumClasses };
        // ONNX Runtime writes straight into the result arrays.
        using var scoresValue = OrtValue.CreateTensorValueFromMemory(probabilities, shape);
        using var logitsValue = logits is null ? null : OrtValue.CreateTensorValueFromMemory(logits, shape);
        var outputs = logitsValue is null ? new[] { scoresValue } : new[] { scoresValue, logitsValue };
        using var runOptions = new RunOptions();
        if (input is not null && count > 0) session.Run(runOptions, new[] { InputName }, new[] { input }, outputNames, outputs);
        if (softmax)
        {
            logits ??= (float[])probabilities.Clone();
            SoftmaxRows(probabilities, NumClasses);
        }
        return new OnnxPrediction(count, NumClasses, probabilities, logits);
    }

    private static void SoftmaxRows(float[] values, int classes)
    {
        for (int i = 0; i < values.Length; i += classes)
        {
            var row = values.AsSpan(i, classes);
            float max = float.NegativeInfinity;
            foreach (var v in row) max = Math.Max(max, v);
            double sum = 0;
            for (int c = 0; c < row.Length; c++) sum += row[c] = MathF.Exp(row[c] - max);
            for (int c = 0; c < row.Length; c++) row[c] = (float)(row[c] / sum);
        }
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => session.Dispose();
}
