using DqMlNet.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace DqMlNet.Transforms;

/// <summary>Reads an ML.NET view's pixel and key-label columns into an <see cref="ImageDataset"/>, with clear errors for bad rows.</summary>
internal static class DataViewReader
{
    public static ImageDataset Read(MlNetHost ml, IDataView data, string featureColumn, string labelColumnName, int channels, int height, int width,
        DqLabelInfo labels, string what)
    {
        var o = (FeatureColumnName: featureColumn, LabelColumnName: labelColumnName, ImageChannels: channels, ImageHeight: height, ImageWidth: width);
        int pixelsPerImage = o.ImageChannels * o.ImageHeight * o.ImageWidth;
        string pixelColumn = o.FeatureColumnName;
        if (data.Schema[o.FeatureColumnName].Type is ImageDataViewType)
        {
            // The same conversion the fitted stage applies at scoring time.
            pixelColumn = DefensiveQuantizationTransformer.PixelColumn;
            data = PixelExtraction.Estimator(ml, pixelColumn, o.FeatureColumnName, o.ImageChannels).Fit(data).Transform(data);
        }
        var labelColumn = data.Schema[o.LabelColumnName];
        if (labelColumn.Type is not KeyDataViewType key || key.Count != (ulong)labels.Count)
            throw new ArgumentException($"The {what}'s label column '{o.LabelColumnName}' must be a key with {labels.Count} values like the training label.");

        var pixels = new List<float>();
        var targets = new List<byte>();
        var longTargets = new List<long>();
        using (var cursor = data.GetRowCursor(new[] { data.Schema[pixelColumn], labelColumn }))
        {
            var pixelGetter = cursor.GetGetter<VBuffer<float>>(data.Schema[pixelColumn]);
            var labelGetter = cursor.GetGetter<uint>(labelColumn);
            VBuffer<float> buffer = default;
            uint label = 0;
            var row = new float[pixelsPerImage];
            while (cursor.MoveNext())
            {
                pixelGetter(ref buffer);
                labelGetter(ref label);
                long position = cursor.Position;
                if (buffer.Length != pixelsPerImage)
                    throw new ArgumentException($"Row {position} of the {what} has {buffer.Length} pixels; the model expects {pixelsPerImage}.");
                if (label == 0)
                    throw new ArgumentException($"Row {position} of the {what} has a missing label in '{o.LabelColumnName}' (a value MapValueToKey did not know). Drop such rows or refit the key mapping.");
                buffer.CopyTo(row);
                for (int i = 0; i < row.Length; i++)
                {
                    float v = row[i];
                    if (float.IsNaN(v))
                        throw new ArgumentException($"Row {position} of the {what} has NaN pixels in '{o.FeatureColumnName}'. Clean or drop such rows.");
                    if (v < 0f || v > 1f)
                        throw new ArgumentException($"Row {position} of the {what} has pixel value {v} in '{o.FeatureColumnName}', outside [0, 1]. " +
                                                    "Scale pixels with ExtractPixels(scaleImage: 1f / 255); normalisation is part of the model.");
                }
                pixels.AddRange(row);
                longTargets.Add(label - 1);
            }
        }
        if (longTargets.Count == 0)
            throw new ArgumentException($"The {what} is empty: DefensiveQuantize needs at least one row.");
        var images = TorchSharp.torch.tensor(pixels.ToArray(), new long[] { longTargets.Count, o.ImageChannels, o.ImageHeight, o.ImageWidth });
        var y = TorchSharp.torch.tensor(longTargets.ToArray());
        return ImageDataset.FromTensors(images, y, labels.ClassNames);
    }
}
