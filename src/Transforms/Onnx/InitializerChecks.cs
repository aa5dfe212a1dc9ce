using DqMlNet.Models;
using Onnx;

namespace DqMlNet.Transforms.Onnx;

/// <summary>
/// Checks of an ONNX file's initializers that run before a model is built from its <c>ModelSpec</c>: each declared
/// shape must match the data present, and the conv/linear weights the file holds must be exactly the weights the spec
/// describes. Building first and comparing afterwards would let a one-line edit of the spec metadata make LibTorch
/// allocate gigabytes for layers the file does not have.
/// </summary>
internal static class InitializerChecks
{
    public static void CheckAgainstSpec(IReadOnlyDictionary<string, TensorProto> initializers, ModelSpec spec, string source)
    {
        long weights = 0;
        foreach (var (name, t) in initializers)
        {
            long count = ElementCount(t, name, source);
            if (name.EndsWith(".weight", StringComparison.Ordinal) || name.EndsWith(".weight_quantized", StringComparison.Ordinal))
                weights = checked(weights + count);
        }
        long expected = spec.WeightCount();
        if (weights != expected)
            throw new InvalidDataException(
                $"'{source}': the ModelSpec in the metadata field '{OnnxMetadataKeys.ModelSpec}' describes a {spec.Architecture} with " +
                $"{expected:N0} conv/linear weights, but the file's weight initializers hold {weights:N0}. The metadata or the " +
                "weights were modified after export: export the model again.");
    }

    /// <summary>The declared element count of <paramref name="t"/>, after checking it against the data the file holds.</summary>
    private static long ElementCount(TensorProto t, string name, string source)
    {
        string Bad(string problem) => $"'{source}': initializer '{name}' {problem}. The file is damaged or was modified: export the model again.";
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            throw new InvalidDataException(Bad("keeps its data in an external file, which DqMlNet models never do"));
        long count = 1;
        foreach (long d in t.Dims)
        {
            if (d < 0) throw new InvalidDataException(Bad($"has a negative dimension ({d})"));
            try { count = checked(count * d); }
            catch (OverflowException) { throw new InvalidDataException(Bad($"declares dimensions [{string.Join(", ", t.Dims)}] whose product overflows")); }
        }
        int size = (TensorProto.Types.DataType)t.DataType switch
        {
            TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 => 4,
            TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool => 1,
            TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Uint16 or TensorProto.Types.DataType.Float16
                or TensorProto.Types.DataType.Bfloat16 => 2,
            TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64 or TensorProto.Types.DataType.Double => 8,
            _ => 0,
        };
        long present;
        if (t.RawData.Length > 0)
        {
            if (size == 0) throw new InvalidDataException(Bad($"has data type {t.DataType}, which DqMlNet models never use"));
            if (t.RawData.Length % size != 0) throw new InvalidDataException(Bad($"holds {t.RawData.Length} raw bytes, not a whole number of {size}-byte values"));
            present = t.RawData.Length / size;
        }
        else
        {
            present = t.FloatData.Count + t.Int32Data.Count + t.Int64Data.Count + t.DoubleData.Count + t.Uint64Data.Count;
        }
        if (present != count)
            throw new InvalidDataException(Bad($"declares shape [{string.Join(", ", t.Dims)}] = {count:N0} values but holds {present:N0}"));
        return count;
    }
}
