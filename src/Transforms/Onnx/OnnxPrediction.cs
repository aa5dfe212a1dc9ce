namespace DqMlNet.Transforms.Onnx;

/// <summary>The result of scoring one batch with <see cref="OnnxClassifier"/>.</summary>
public sealed class OnnxPrediction
{
    /// <summary>Creates a result; arrays are row-major [count × classes].</summary>
    public OnnxPrediction(int count, int numClasses, float[] probabilities, float[]? logits)
    {
        if (probabilities.Length != (long)count * numClasses)
            throw new ArgumentException($"Expected {count}×{numClasses} probabilities, got {probabilities.Length}.", nameof(probabilities));
        Count = count;
        NumClasses = numClasses;
        Probabilities = probabilities;
        Logits = logits;
        Labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            var row = probabilities.AsSpan(i * numClasses, numClasses);
            int best = 0;
            for (int c = 1; c < row.Length; c++) if (row[c] > row[best]) best = c;
            Labels[i] = best;
        }
    }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>Class probabilities, row-major [<see cref="Count"/> × <see cref="NumClasses"/>].</summary>
    public float[] Probabilities { get; }

    /// <summary>Logits, row-major, if the model outputs them (our exports do by default); otherwise null.</summary>
    public float[]? Logits { get; }

    /// <summary>Predicted class (argmax of the probabilities, first one on ties) of every image.</summary>
    public int[] Labels { get; }

    /// <summary>The probabilities of image <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> ProbabilitiesOf(int index) => Probabilities.AsSpan(index * NumClasses, NumClasses);
}
