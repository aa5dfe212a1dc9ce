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
/// restored as a <see cref="DqTransformer"/>: the TorchSharp model (weights from the file), class names and key
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
        var loaded = ml.Model.Load(path, out inputSchema);
        var stages = FindStages(path);
        if (stages.Count == 0)
            throw new InvalidDataException($"'{path}' contains no DqMlNet stage; load it with mlContext.Model.Load.");
        if (loaded is not TransformerChain<ITransformer> chain)
            throw new InvalidDataException($"'{path}' does not hold a transformer chain.");

        var elements = chain.ToList();
        // A file saved from a lone DQ stage holds just its stand-in chain: the whole chain is the stage.
        if (stages.Keys.Any(k => k < 0)) return Restore(ml, stages[-1], inputSchema);

        var schema = inputSchema;
        var result = new List<ITransformer>();
        for (int i = 0; i < elements.Count; i++)
        {
            var element = stages.TryGetValue(i, out var proto) ? Restore(ml, proto, schema) : elements[i];
            result.Add(element);
            schema = element.GetOutputSchema(schema);
        }
        return new TransformerChain<ITransformer>(result.ToArray());
    }

    /// <summary>The DQ ONNX stages in the file, by index in the top-level chain (−1: the file is a single stage).</summary>
    private static Dictionary<int, ModelProto> FindStages(string path)
    {
        var found = new Dictionary<int, ModelProto>();
        using var zip = ZipFile.OpenRead(path);
        foreach (var entry in zip.Entries)
        {
            var match = EntryPattern.Match(entry.FullName.Replace('\\', '/'));
            if (!match.Success) continue;
            using var stream = entry.Open();
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            var bytes = memory.ToArray();
            // OnnxTransformer stores a 4-byte length prefix, then the model.
            if (bytes.Length < 4 || BitConverter.ToInt32(bytes, 0) != bytes.Length - 4) continue;
            var model = OnnxModelLoader.ReadModel(bytes.AsSpan(4).ToArray());
            if (!model.MetadataProps.Any(p => p.Key == MlNetOnnxStage.ColumnsKey)) continue;
            bool nested = entry.FullName.Count(c => c == '/') == 3;
            found[nested ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1] = model;
        }
        return found;
    }

    private static DqTransformer Restore(MLContext ml, ModelProto wrapped, DataViewSchema inputSchema)
    {
        var meta = wrapped.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        var columns = JsonSerializer.Deserialize<DqColumns>(meta[MlNetOnnxStage.ColumnsKey])!;
        var labelRecord = JsonSerializer.Deserialize<MlNetOnnxStage.LabelRecord>(meta[MlNetOnnxStage.LabelsKey])!;
        var labels = DqLabelInfo.FromRecord(labelRecord.ValueType, labelRecord.Values);
        var original = MlNetOnnxStage.Unwrap(wrapped, columns);
        var model = OnnxModelLoader.Load(original);
        model.eval();
        DataViewSchema.Column? image = meta.TryGetValue(MlNetOnnxStage.ImageInputKey, out var flag) && flag == "true"
            ? inputSchema.GetColumnOrNull(columns.Features)
            : null;
        if (meta.TryGetValue(MlNetOnnxStage.ImageInputKey, out flag) && flag == "true" && image is null)
            throw new InvalidDataException($"The DQ stage reads the image column '{columns.Features}', which the preceding stages do not produce.");
        return new DqTransformer(ml, model, labels, columns, image, onnx: Google.Protobuf.MessageExtensions.ToByteArray(original));
    }
}
