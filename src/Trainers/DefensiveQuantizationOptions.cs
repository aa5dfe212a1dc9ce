using DqMlNet.Lipschitz;
using DqMlNet.Models;
using DqMlNet.TorchTraining;
using Microsoft.ML.TorchSharp;

namespace DqMlNet.Trainers;

public sealed partial class DefensiveQuantizationEstimator
{
    /// <summary>
    /// Options, following ML.NET's TorchSharp trainers: every inherited <see cref="TorchSharpBaseTrainer.Options"/> field
    /// is honoured (column names, <c>BatchSize</c>, <c>MaxEpoch</c>, <c>WeightDecay</c>, <c>ValidationSet</c> and the
    /// learning-rate ratios of the per-step schedule), plus DQ's own. The estimator copies them when it is created.
    /// </summary>
    public sealed class Options : TorchSharpBaseTrainer.Options
    {
        /// <summary>The β used in Defensive mode when <see cref="Beta"/> is null.</summary>
        public const double DefaultBeta = 2e-3;

        /// <summary>
        /// Creates options with DqMlNet's defaults: DQ-4 SmallCnn, β = 2e-3, Adam 1e-3 at a constant rate, batch 128,
        /// 2 epochs; the image shape comes from the feature column.
        /// </summary>
        public Options()
        {
            LabelColumnName = "Label";
            ScoreColumnName = "Score";
            PredictionColumnName = "PredictedLabel";
            BatchSize = 128;
            MaxEpoch = 2;
            WeightDecay = 0;
            // Ratios of 1 keep the rate constant (DqMlNet's recipe); ML.NET's TorchSharp trainers default to 0.1 and 0.9.
            StartLearningRateRatio = 1;
            FinalLearningRateRatio = 1;
        }

        /// <summary>
        /// Input column: an MLImage column of fixed size (after <c>ResizeImages</c>), or a Vector&lt;Single&gt; of
        /// C·H·W pixels in [0, 1], channel-major (planar), as <c>ExtractPixels(scaleImage: 1f / 255)</c> gives.
        /// </summary>
        public string FeatureColumnName = "Features";

        /// <summary>FP, VQ (vanilla quantization) or DQ (quantization + Lipschitz regulariser).</summary>
        public TrainingMode Mode = TrainingMode.Defensive;

        /// <summary>Network family.</summary>
        public Architecture Architecture = Architecture.SmallCnn;

        /// <summary>Activation bits k (1..8) for VQ/DQ.</summary>
        public int ActivationBits = 4;

        /// <summary>Weight bits for weight fake quantization (2..8), or null for float weights (the paper's setting).</summary>
        public int? WeightBits;

        /// <summary>
        /// Lipschitz regularisation strength β, Defensive mode only (the paper's range is about 3e-4 to 2e-3). Null:
        /// <see cref="DefaultBeta"/> in Defensive mode, none otherwise; a positive β with another mode is an error.
        /// </summary>
        public double? Beta;

        /// <summary>Which layers the regulariser constrains.</summary>
        public LipschitzOptions Lipschitz = new();

        /// <summary>
        /// Image channels C. Null: from the feature column — the first dimension of a planar pixel vector (ExtractPixels
        /// records it), 3 (RGB) for an MLImage column. For an MLImage only 1 (the red channel, which is the grey level of
        /// a grey image) and 3 are possible.
        /// </summary>
        public int? ImageChannels;

        /// <summary>Image height H. Null: from the feature column (MLImage size, or the dimensions ExtractPixels records).</summary>
        public int? ImageHeight;

        /// <summary>Image width W. Null: from the feature column (MLImage size, or the dimensions ExtractPixels records).</summary>
        public int? ImageWidth;

        /// <summary>Per-channel normalisation mean (pixel scale); null computes it from the training data.</summary>
        public float[]? Mean;

        /// <summary>Per-channel normalisation std (pixel scale); null computes it from the training data.</summary>
        public float[]? Std;

        /// <summary>VGG depth (11/13/16/19) or WRN depth (6n + 4).</summary>
        public int Depth = 16;

        /// <summary>VGG width multiplier or WRN widen factor.</summary>
        public double WidthFactor = 1;

        /// <summary>BatchNorm in SmallCnn.</summary>
        public bool BatchNorm;

        /// <summary>Base (peak) learning rate.</summary>
        public double LearningRate = 1e-3;

        /// <summary>
        /// Fraction of all optimisation steps over which the rate rises from LearningRate·StartLearningRateRatio to
        /// LearningRate (then it falls linearly to LearningRate·FinalLearningRateRatio), as ML.NET's NAS-BERT trainer's
        /// <c>WarmupRatio</c>. Has no effect while both ratios are 1.
        /// </summary>
        public double WarmupRatio = 0.06;

        /// <summary>Optimizer.</summary>
        public OptimizerKind Optimizer = OptimizerKind.Adam;

        /// <summary>Per-epoch learning-rate schedule; only Constant combines with learning-rate ratios other than 1.</summary>
        public LearningRateSchedule Schedule = LearningRateSchedule.Constant;

        /// <summary>Random crop + flip augmentation.</summary>
        public bool Augment;

        /// <summary>Adversarial training (null: none).</summary>
        public AdversarialTraining? Adversarial;

        /// <summary>Seed of initialisation, shuffling and augmentation.</summary>
        public int Seed;

        /// <summary>"cpu", "cuda" or "cuda:N".</summary>
        public string Device = "cpu";

        /// <summary>
        /// LibTorch threads, a process-wide setting applied at Fit because the caller asked for it; null (the default)
        /// leaves the process as it is (see <c>DqRuntime.ConfigureProcess</c>).
        /// </summary>
        public int? Threads;

        /// <summary>Receives progress every <see cref="ProgressInterval"/> batches and at each epoch's end (with the validation accuracy).</summary>
        public IProgress<TrainingProgress>? Progress;

        /// <summary>Batches between progress reports within an epoch.</summary>
        public int ProgressInterval = 20;

        /// <summary>Stops <c>Fit</c> before the next batch (or before reading the data) with an <see cref="OperationCanceledException"/>.</summary>
        public CancellationToken CancellationToken;

        /// <summary>Folder for per-epoch checkpoints (resume after interruption); null: none.</summary>
        public string? CheckpointDirectory;

        /// <summary>A copy that shares nothing mutable with this object (arrays are copied; records and views are immutable).</summary>
        internal Options Copy()
        {
            var copy = (Options)MemberwiseClone();
            copy.Mean = Mean?.ToArray();
            copy.Std = Std?.ToArray();
            return copy;
        }

        /// <summary>β as trained: the explicit value, else the default in Defensive mode and 0 otherwise.</summary>
        internal double EffectiveBeta => Beta ?? (Mode == TrainingMode.Defensive ? DefaultBeta : 0);

        /// <summary>The per-step schedule the learning-rate ratios describe, or null while both are 1 (constant rate).</summary>
        internal OneCycleSchedule? OneCycle =>
            StartLearningRateRatio == 1 && FinalLearningRateRatio == 1 ? null
                : new OneCycleSchedule(StartLearningRateRatio, FinalLearningRateRatio, WarmupRatio);
    }
}
