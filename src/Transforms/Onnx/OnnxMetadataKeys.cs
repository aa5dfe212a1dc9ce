namespace DqMlNet.Transforms.Onnx;

/// <summary>Keys of the <c>metadata_props</c> that <see cref="OnnxExporter"/> writes.</summary>
public static class OnnxMetadataKeys
{
    /// <summary>Architecture name (SmallCnn, Vgg, WideResNet).</summary>
    public const string Architecture = "dqmlnet.architecture";

    /// <summary>Training mode (FullPrecision, Vanilla, Defensive).</summary>
    public const string Mode = "dqmlnet.mode";

    /// <summary>Activation bits k (empty for full precision).</summary>
    public const string ActivationBits = "dqmlnet.activation_bits";

    /// <summary>Weight bits the model was trained with (empty for float weights).</summary>
    public const string WeightBits = "dqmlnet.weight_bits";

    /// <summary>How weights are stored in the file: "int8 (k-bit grid …)" or "float".</summary>
    public const string ExportedWeights = "dqmlnet.exported_weights";

    /// <summary>The Lipschitz regulariser β (only if supplied at export).</summary>
    public const string Beta = "dqmlnet.beta";

    /// <summary>Class names as a JSON array (only if supplied at export).</summary>
    public const string ClassNames = "dqmlnet.class_names";

    /// <summary>Input shape as "N,C,H,W" with a symbolic N.</summary>
    public const string InputShape = "dqmlnet.input_shape";

    /// <summary>Version of the DqMlNet library that wrote the file.</summary>
    public const string LibraryVersion = "dqmlnet.library_version";

    /// <summary>The full <c>ModelSpec</c> JSON, from which the model can be rebuilt.</summary>
    public const string ModelSpec = "dqmlnet.model_spec";

    /// <summary>Name of the graph input (float pixels in [0, 1], [N, C, H, W]).</summary>
    public const string InputName = "input";

    /// <summary>Name of the softmax output [N, classes].</summary>
    public const string ProbabilitiesName = "probabilities";

    /// <summary>Name of the optional logits output [N, classes].</summary>
    public const string LogitsName = "logits";
}
