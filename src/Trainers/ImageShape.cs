using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace DqMlNet.Trainers;

/// <summary>
/// The C×H×W a model is built for, taken from the feature column: an MLImage column carries H and W (C from the
/// options, 3 by default); a pixel vector made by <c>ExtractPixels</c> records [C, H, W] as its dimensions; a flat
/// vector carries only its length, so the options must give all three. Options that are set must agree with what the
/// column records. There is no default shape: a 1×28×28 guess would train a wrong model on any other data silently.
/// </summary>
internal readonly record struct ImageShape(int Channels, int Height, int Width)
{
    /// <summary>Default channels of an MLImage column: a colour bitmap.</summary>
    public const int MLImageChannels = 3;

    public int Pixels => Channels * Height * Width;

    public override string ToString() => $"{Channels}×{Height}×{Width}";

    /// <summary>Resolves the shape of a column of a real schema (at Fit), or throws naming the column and the fix.</summary>
    public static ImageShape Resolve(DefensiveQuantizationEstimator.Options o, DataViewType type, string column)
    {
        if (type is ImageDataViewType image) return OfImage(o, image, column);
        if (type is not VectorDataViewType { IsKnownSize: true } vector || vector.ItemType != NumberDataViewType.Single)
            throw new ArgumentException($"Input column '{column}' is {type}; DefensiveQuantize expects a known-size Vector<Single> of " +
                                        "pixels in [0, 1] (ExtractPixels(scaleImage: 1f / 255)) or an MLImage column.");
        var dims = vector.Dimensions;
        ImageShape? recorded = null;
        if (dims.Length == 3)
        {
            // ExtractPixels records planar pixels as [C, H, W] with C ≤ 4 (ARGB); interleaved ones as [H, W, C].
            if (dims[0] > 4)
                throw new ArgumentException(
                    $"Input column '{column}' has dimensions [{string.Join(", ", dims.ToArray())}], which looks like interleaved pixels " +
                    "(H, W, C). DefensiveQuantize reads planar pixels (C, H, W): use ExtractPixels(interleavePixelColors: false), " +
                    "or set ImageChannels, ImageHeight and ImageWidth if the layout is planar after all.");
            recorded = new ImageShape(dims[0], dims[1], dims[2]);
        }
        if (recorded is { } r)
        {
            if ((o.ImageChannels ?? r.Channels) != r.Channels || (o.ImageHeight ?? r.Height) != r.Height || (o.ImageWidth ?? r.Width) != r.Width)
                throw new ArgumentException(
                    $"Input column '{column}' holds {r} images (its recorded dimensions) but the options say " +
                    $"{Show(o.ImageChannels)}×{Show(o.ImageHeight)}×{Show(o.ImageWidth)}. Remove ImageChannels/ImageHeight/ImageWidth " +
                    "or make them match the column.");
            return r;
        }
        if (o.ImageChannels is not int c || o.ImageHeight is not int h || o.ImageWidth is not int w)
            throw new ArgumentException(
                $"Input column '{column}' is {(dims.Length <= 1 ? "a flat " : "")}{vector}, which does not say its image shape (C, H, W). Set ImageChannels, " +
                "ImageHeight and ImageWidth (e.g. 1, 28, 28 for Fashion-MNIST), or produce the column with ExtractPixels, which records it.");
        var shape = new ImageShape(c, h, w);
        if (shape.Pixels != vector.Size)
            throw new ArgumentException(
                $"Input column '{column}' has {vector.Size} values per row but ImageChannels×ImageHeight×ImageWidth = " +
                $"{shape} = {shape.Pixels}. Set the image shape options to match the data.");
        return shape;
    }

    /// <summary>The shape of an MLImage column; also usable on a <c>SchemaShape</c> column, whose item type is the image type.</summary>
    public static ImageShape OfImage(DefensiveQuantizationEstimator.Options o, ImageDataViewType image, string column)
    {
        if (image.Height <= 0 || image.Width <= 0)
            throw new ArgumentException($"MLImage column '{column}' has no fixed size; add mlContext.Transforms.ResizeImages(\"{column}\", width, height) " +
                                        "before DefensiveQuantize so every image has the size the model is built for.");
        if ((o.ImageHeight ?? image.Height) != image.Height || (o.ImageWidth ?? image.Width) != image.Width)
            throw new ArgumentException($"MLImage column '{column}' holds {image.Width}×{image.Height} images (W×H) but ImageWidth×ImageHeight = " +
                                        $"{o.ImageWidth}×{o.ImageHeight}. Resize to that size with ResizeImages, or remove ImageHeight/ImageWidth.");
        int channels = o.ImageChannels ?? MLImageChannels;
        if (channels is not (1 or 3))
            throw new ArgumentException($"ImageChannels = {channels} cannot be read from MLImage column '{column}': use 3 (RGB) or 1 (the red " +
                                        "channel, i.e. the grey level of grey images).");
        return new ImageShape(channels, image.Height, image.Width);
    }

    private static string Show(int? value) => value?.ToString() ?? "?";
}
