using static TorchSharp.torch;

namespace DqMlNet.Transforms;

/// <summary>
/// A classifier seen as a black box that only returns scores (e.g. for score-based attacks or evaluation of a model
/// we cannot differentiate, such as an ONNX file).
/// </summary>
public interface IScoreModel
{
    /// <summary>Number of classes, i.e. scores per image.</summary>
    int NumClasses { get; }

    /// <summary>
    /// Class probabilities of a batch of float images [N, C, H, W] (pixels in [0, 1] for DqMlNet models), row-major
    /// [N × <see cref="NumClasses"/>]. Must be safe to call from several threads at once.
    /// </summary>
    float[] Scores(Tensor batch);
}
