using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Training;

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
        DqModel Fit(TrainingMode mode, int bits, int seed) =>
            new DqTrainer(TestData.SmallCnn(mode, bits), new DqTrainerOptions { Epochs = 1, BatchSize = 64, Seed = seed, Threads = TestData.Threads })
                .Fit(Train).Model;
        FpA = Fit(TrainingMode.FullPrecision, 4, 101);
        FpB = Fit(TrainingMode.FullPrecision, 4, 202);
        Vq2 = Fit(TrainingMode.Vanilla, 2, 303);
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
