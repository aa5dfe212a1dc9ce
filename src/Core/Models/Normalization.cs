using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Models;

/// <summary>
/// Per-channel (x − mean) / std as the model's first layer, so the model takes [0, 1] pixels and attacks and ε live in
/// pixel space ([0, 1]). Mean and std are buffers: saved with the model, never trained.
/// </summary>
public sealed class Normalization : nn.Module<Tensor, Tensor>
{
    private readonly Tensor mean;
    private readonly Tensor std;

    /// <summary>Creates the layer; <paramref name="mean"/> and <paramref name="std"/> have one value per channel.</summary>
    public Normalization(float[] mean, float[] std) : base(nameof(Normalization))
    {
        if (mean.Length != std.Length)
            throw new ArgumentException($"Normalization needs one std per mean (got {mean.Length} means, {std.Length} stds).", nameof(std));
        if (std.Any(s => !(s > 0) || float.IsInfinity(s)))
            throw new ArgumentException("Every normalization std must be a finite positive number.", nameof(std));
        Mean = mean.ToArray();
        Std = std.ToArray();
        this.mean = tensor(mean).reshape(1, mean.Length, 1, 1);
        this.std = tensor(std).reshape(1, std.Length, 1, 1);
        register_buffer("mean", this.mean);
        register_buffer("std", this.std);
    }

    /// <summary>Per-channel mean.</summary>
    public IReadOnlyList<float> Mean { get; }

    /// <summary>Per-channel standard deviation.</summary>
    public IReadOnlyList<float> Std { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => input.sub(mean).div_(std);
}
