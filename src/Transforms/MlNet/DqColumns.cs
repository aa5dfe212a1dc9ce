namespace DqMlNet.Transforms;

/// <summary>Column names of a DQ stage (ML.NET conventions by default).</summary>
/// <param name="Features">Input: a known-size Vector&lt;Single&gt; of C·H·W pixels in [0, 1], or an MLImage column.</param>
/// <param name="Score">Output: class probabilities, with slot names.</param>
/// <param name="PredictedLabel">Output: the predicted class as a key with the label's key values.</param>
public sealed record DqColumns(string Features = "Features", string Score = "Score", string PredictedLabel = "PredictedLabel");
