using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using DqMlNet.Transforms.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;
using Onnx;

namespace DqMlNet.Transforms;

/// <summary>
/// Typed loading of ML.NET model files that contain DQ stages. <c>mlContext.Model.Load</c> alone returns the
/// built-in stand-in stages (see docs/mlnet.md); <see cref="Load"/> returns the same pipeline with every DQ stage
/// restored as a <see cref="DefensiveQuantizationTransformer"/>: the TorchSharp model (weights from the file), class names and key
/// values, ready for attacks, robustness evaluation or fine-tuning, and scoring exactly as before saving.
/// </summary>
public static class DqModelFile
{
    private static readonly Regex EntryPattern = new(@"^TransformerChain/Transform_(\d+)/(?:Transform_\d+/)?OnnxModel$", RegexOptions.Compiled);

    /// <summary>Loads <paramref name="path"/> with DQ stages restored; <paramref name="inputSchema"/> is the saved input schema.</summary>
    public static ITransformer Load(MLContext ml, string path, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(ml);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        // Our stages are read and checked first (bounded reads), before ML.NET parses the rest of the file.
        var stages = FindStages(path);
        if (stages.Count == 0)
            throw new InvalidDataException($"'{path}' contains no DqMlNet stage; load it with mlContext.Model.Load.");
        ITransformer loaded;
        try
        {
            loaded = ml.Model.Load(path, out inputSchema);
        }
        catch (Exception e) when (IsDamage(e))
        {
            // ML.NET's own stages and the schema are parsed here; a damaged one fails inside ML.NET's loaders.
            throw new InvalidDataException($"'{path}': ML.NET cannot load the rest of the model ({e.GetBaseException().Message}). The file is damaged: save the model again.", e);
        }
        if (inputSchema is null)
            throw new InvalidDataException($"'{path}' holds no readable input schema. The file is damaged: save the model again.");
        if (loaded is not TransformerChain<ITransformer> chain)
            throw new InvalidDataException($"'{path}' does not hold a transformer chain.");

        var elements = chain.ToList();
        // A file saved from a lone DQ stage holds just its stand-in chain: the whole chain is the stage.
        if (stages.Keys.Any(k => k < 0)) return Restore(MlNetHost.Of(ml), stages[-1], inputSchema, path);

        var schema = inputSchema;
        var result = new List<ITransformer>();
        for (int i = 0; i < elements.Count; i++)
        {
            var element = stages.TryGetValue(i, out var proto) ? Restore(MlNetHost.Of(ml), proto, schema, path) : elements[i];
            result.Add(element);
            try
            {
                schema = element.GetOutputSchema(schema);
            }
            catch (ArgumentException e)
            {
                // The saved schema does not fit the saved stages (a column missing or of another type): the file was altered.
                throw new InvalidDataException($"'{path}': stage {i} does not accept the saved input schema ({e.Message}). The file is damaged: save the model again.", e);
            }
        }
        return new TransformerChain<ITransformer>(result.ToArray());
    }

    /// <summary>The DQ ONNX stages in the file, by index in the top-level chain (−1: the file is a single stage).</summary>
    private static Dictionary<int, ModelProto> FindStages(string path)
    {
        var found = new Dictionary<int, ModelProto>();
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' is not a readable model zip ({e.Message}). Save the model again.", e);
        }
        using var _ = zip;
        foreach (var entry in zip.Entries)
        {
            var match = EntryPattern.Match(entry.FullName.Replace('\\', '/'));
            if (!match.Success) continue;
            var bytes = ReadEntry(path, entry);
            // OnnxTransformer stores a 4-byte length prefix, then the model.
            if (bytes.Length < 4 || BitConverter.ToInt32(bytes, 0) != bytes.Length - 4) continue;
            var model = OnnxModelLoader.ReadModel(bytes.AsSpan(4).ToArray(), $"{path}:{entry.FullName}");
            if (!model.MetadataProps.Any(p => p.Key == MlNetOnnxStage.ColumnsKey)) continue;
            // Spec bounds and initializer shapes are checked here, before ML.NET parses the zip and hands the stage to
            // ONNX Runtime (the wrapper's own "__dq_" initializers are not part of the exported model).
            string source = $"{path}:{entry.FullName}";
            if (model.Graph is null) throw new InvalidDataException($"'{source}': the DQ stage's ONNX model has no graph. Save the model again.");
            var spec = OnnxModelLoader.ReadSpec(model, source);
            var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
            foreach (var t in model.Graph.Initializer)
                if (!t.Name.StartsWith("__dq_", StringComparison.Ordinal)) initializers[t.Name] = t;
            InitializerChecks.CheckAgainstSpec(initializers, spec, source);
            bool nested = entry.FullName.Count(c => c == '/') == 3;
            found[nested ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1] = model;
        }
        return found;
    }

    /// <summary>
    /// The bytes of one zip entry, refusing before reading when the declared size exceeds
    /// <see cref="ModelFileLimits.MaxModelBytes"/> and stopping at the declared size (a forged size cannot make it read more).
    /// </summary>
    private static byte[] ReadEntry(string path, ZipArchiveEntry entry)
    {
        long declared = entry.Length, cap = Math.Min(ModelFileLimits.MaxModelBytes, Array.MaxLength);
        if (declared > cap)
            throw new InvalidDataException(
                $"'{path}': zip entry '{entry.FullName}' declares {declared:N0} bytes, more than the limit of {cap:N0}. {ModelFileLimits.RaiseHint}");
        try
        {
            using var stream = entry.Open();
            var bytes = new byte[declared];
            int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            Span<byte> one = stackalloc byte[1];
            if (read != declared || stream.Read(one) != 0)
                throw new InvalidDataException($"its data does not match its declared size of {declared:N0} bytes");
            return bytes;
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}': zip entry '{entry.FullName}' is damaged ({e.Message}). Save the model again.", e);
        }
    }

    /// <summary>
    /// Whether an exception from ML.NET's loaders means the file's content is damaged. Fuzzing found a new exception type
    /// in almost every run (InvalidOperationException, ArgumentNullException, TargetInvocationException, NullReference,
    /// NotSupportedException, an unknown loader assembly's FileNotFoundException, ...), so the rule names what is NOT
    /// damage: running out of memory, cancellation, and the operating system refusing or failing to read the file.
    /// </summary>
    private static bool IsDamage(Exception e) =>
        e is not (OutOfMemoryException or OperationCanceledException or UnauthorizedAccessException)
        && (e is not IOException || e is EndOfStreamException or FileNotFoundException or FileLoadException);

    internal static DefensiveQuantizationTransformer Restore(MlNetHost ml, ModelProto wrapped, DataViewSchema inputSchema, string path)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in wrapped.MetadataProps) meta[p.Key] = p.Value;
        T Field<T>(string key) where T : class
        {
            if (!meta.TryGetValue(key, out var json))
                throw new InvalidDataException($"'{path}': the DQ stage lacks its metadata field '{key}'. The file was modified or is damaged: save the model again.");
            try
            {
                return JsonSerializer.Deserialize<T>(json) ?? throw new JsonException("the value is null");
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"'{path}': the DQ stage's metadata field '{key}' is not valid ({e.Message}). Save the model again.", e);
            }
        }
        var columns = Field<DqColumns>(MlNetOnnxStage.ColumnsKey);
        var labelRecord = Field<MlNetOnnxStage.LabelRecord>(MlNetOnnxStage.LabelsKey);
        if (labelRecord.ValueType is null || labelRecord.Values is null || labelRecord.Values.Any(v => v is null))
            throw new InvalidDataException($"'{path}': the DQ stage's metadata field '{MlNetOnnxStage.LabelsKey}' lacks its value type or values. Save the model again.");
        if (columns.Features is null || columns.Score is null || columns.PredictedLabel is null)
            throw new InvalidDataException($"'{path}': the DQ stage's metadata field '{MlNetOnnxStage.ColumnsKey}' lacks a column name. Save the model again.");
        DqLabelInfo labels;
        try
        {
            labels = DqLabelInfo.FromRecord(labelRecord.ValueType, labelRecord.Values);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or OverflowException)
        {
            throw new InvalidDataException($"'{path}': the DQ stage's metadata field '{MlNetOnnxStage.LabelsKey}' does not hold valid class labels ({e.Message}). Save the model again.", e);
        }
        if (wrapped.Graph is null)
            throw new InvalidDataException($"'{path}': the DQ stage's ONNX model has no graph. Save the model again.");
        ModelProto original;
        try
        {
            original = MlNetOnnxStage.Unwrap(wrapped, columns);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{path}': the DQ stage's ONNX graph does not match its metadata field '{MlNetOnnxStage.ColumnsKey}' ({e.Message}). Save the model again.", e);
        }
        var model = OnnxModelLoader.Load(original, path);
        model.eval();
        DataViewSchema.Column? image = meta.TryGetValue(MlNetOnnxStage.ImageInputKey, out var flag) && flag == "true"
            ? inputSchema.GetColumnOrNull(columns.Features)
            : null;
        if (meta.TryGetValue(MlNetOnnxStage.ImageInputKey, out flag) && flag == "true" && image is null)
            throw new InvalidDataException($"The DQ stage reads the image column '{columns.Features}', which the preceding stages do not produce.");
        try
        {
            return new DefensiveQuantizationTransformer(ml, model, labels, columns, image, onnx: Google.Protobuf.MessageExtensions.ToByteArray(original));
        }
        catch (Exception e) when (e is InvalidDataException or NullReferenceException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            // ONNX Runtime opens the stage for scoring (through OnnxClassifier, which refuses metadata it cannot read
            // safely); on some malformed models it fails inside its own metadata code. Either way the zip is named.
            model.Dispose();
            throw new InvalidDataException($"'{path}': ONNX Runtime cannot open the DQ stage's model ({e.Message}). The file is damaged: save the model again.", e);
        }
    }
}
