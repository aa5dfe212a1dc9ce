using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.TorchTraining;

namespace DqMlNet.Tests;

/// <summary>
/// SmallCnns for the attack-strength tests, trained once on the fixture: two float models of different seeds (a
/// transfer pair) and a 2-bit vanilla-quantized one (the regime where gradient attacks are weak and Square matters).
/// </summary>
public sealed class AttackModels : IDisposable
{
    public AttackModels()
    {
        Train = TestData.Load(DatasetSplit.Train);
        Test = TestData.Load(DatasetSplit.Test);
        DqModel Fit(TrainingMode mode, int bits, int seed, int epochs) =>
            new DqTrainer(TestData.SmallCnn(mode, bits), new DqTrainerOptions { Epochs = epochs, BatchSize = 64, Seed = seed, Threads = TestData.Threads })
                .Fit(Train).Model;
        // Transfer needs substitutes that have learnt the task: after one epoch (≈ 70 % clean) full-step crafting beat
        // early-stop crafting by only 8 points at ε = 0.1 (64.7 % → 56.3 %), so the float pair trains for three.
        FpA = Fit(TrainingMode.FullPrecision, 4, 101, epochs: 3);
        FpB = Fit(TrainingMode.FullPrecision, 4, 202, epochs: 3);
        Vq2 = Fit(TrainingMode.Vanilla, 2, 303, epochs: 1);
    }

    public ImageDataset Train { get; }
    public ImageDataset Test { get; }
    public DqModel FpA { get; }
    public DqModel FpB { get; }
    public DqModel Vq2 { get; }

    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
        FpA.Dispose();
        FpB.Dispose();
        Vq2.Dispose();
    }
}
