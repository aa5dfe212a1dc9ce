using Microsoft.ML;
using Microsoft.ML.Transforms.Image;

namespace DqMlNet.Transforms;

/// <summary>
/// The one MLImage → pixels conversion of DqMlNet (planar C·H·W in [0, 1]; the red channel for grey models), shared by
/// training, scoring and the saved stages so they can never disagree.
/// </summary>
internal static class PixelExtraction
{
    public static ImagePixelExtractingEstimator Estimator(MlNetHost ml, string output, string input, int channels) =>
        ml.Transforms.ExtractPixels(output, input,
            colorsToExtract: channels == 1 ? ImagePixelExtractingEstimator.ColorBits.Red : ImagePixelExtractingEstimator.ColorBits.Rgb,
            orderOfExtraction: ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false, scaleImage: 1f / 255);
}
