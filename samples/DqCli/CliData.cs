using DqMlNet.Data;
using DqMlNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Cli;

/// <summary>Fashion-MNIST splits for the CLI and their ML.NET views.</summary>
internal static class CliData
{
    public static ImageDataset Load(DirectoryInfo? folder, DatasetSplit split, int? limit, TextWriter log)
    {
        RequireData(folder);
        IdxDatasetFiles files;
        try
        {
            files = folder is null ? FashionMnist.EnsureAvailable(log: log) : IdxDatasetFiles.InDirectory(folder.FullName, folder.FullName);
        }
        catch (InvalidOperationException e)
        {
            throw new CliException(ExitCodes.Input, e.Message, e); // the cache is empty and neither download nor npm worked
        }
        foreach (var f in files.All)
            if (!File.Exists(f)) throw new FileNotFoundException($"'{f}' is missing: --data must name a folder with the four IDX files.", f);
        return files.Load(split, FashionMnist.ClassNames, limit);
    }

    /// <summary>Throws <see cref="DirectoryNotFoundException"/> (exit code 3) when --data names a folder that does not exist.</summary>
    public static void RequireData(DirectoryInfo? folder)
    {
        if (folder is not null && !Directory.Exists(folder.FullName))
            throw new DirectoryNotFoundException($"Data folder '{folder.FullName}' does not exist.");
    }

    /// <summary>The four IDX files --data (or the default cache) names: inputs no output may replace.</summary>
    public static IEnumerable<string> DataFiles(DirectoryInfo? folder) =>
        IdxDatasetFiles.InDirectory(folder?.FullName ?? FashionMnist.DefaultDirectory()).All;

    /// <summary>Rows with a Features vector (C·H·W pixels in [0, 1]) and the text label.</summary>
    public static IDataView View(MLContext ml, ImageDataset data, string featureColumn = "Features")
    {
        int size = data.Channels * data.Height * data.Width;
        var pixels = data.Images.contiguous().data<float>().ToArray();
        var labels = data.Labels.data<long>().ToArray();
        var rows = Enumerable.Range(0, data.Count)
            .Select(i => new PixelRow { Features = pixels.AsSpan(i * size, size).ToArray(), Label = data.ClassNames[(int)labels[i]] })
            .ToList();
        var definition = SchemaDefinition.Create(typeof(PixelRow));
        var column = definition[nameof(PixelRow.Features)];
        column.ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
        column.ColumnName = featureColumn;
        return ml.Data.LoadFromEnumerable(rows, definition);
    }

    /// <summary>MapValueToKey("Label") with keys in <paramref name="classNames"/> order (so key k ↔ class k).</summary>
    public static IEstimator<ITransformer> KeyLabel(MLContext ml, IReadOnlyList<string> classNames) =>
        ml.Transforms.Conversion.MapValueToKey("Label", keyData: ml.Data.LoadFromEnumerable(classNames.Select(n => new KeyRow { Label = n })));

    public static DefensiveQuantizationTransformer? FindStage(ITransformer transformer) => transformer switch
    {
        DefensiveQuantizationTransformer stage => stage,
        IEnumerable<ITransformer> chain => chain.Select(FindStage).FirstOrDefault(s => s is not null),
        _ => null,
    };

    /// <summary>Loads a DqMlNet zip typed (DqModelFile.Load) and returns the DQ stage.</summary>
    public static (ITransformer Model, DefensiveQuantizationTransformer Stage) LoadZip(MLContext ml, FileInfo zip)
    {
        var model = DqModelFile.Load(ml, zip.FullName, out _);
        var stage = FindStage(model) ?? throw new InvalidDataException($"'{zip.FullName}' holds no DqMlNet stage.");
        return (model, stage);
    }

    public static bool IsOnnx(FileInfo file) => file.Extension.Equals(".onnx", StringComparison.OrdinalIgnoreCase);

    public static string Stem(string path) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileNameWithoutExtension(path));

    private sealed class PixelRow
    {
        public float[] Features { get; set; } = Array.Empty<float>();
        public string Label { get; set; } = "";
    }

    private sealed class KeyRow
    {
        public string Label { get; set; } = "";
    }
}
