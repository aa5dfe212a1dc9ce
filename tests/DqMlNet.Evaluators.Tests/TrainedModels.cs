using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.TorchTraining;

namespace DqMlNet.Tests;

/// <summary>SmallCnn models trained once on the fixture and shared by the evaluator tests.</summary>
public sealed class TrainedModels : IDisposable
{
    public TrainedModels()
    {
        Train = TestData.Load(DatasetSplit.Train);
        Test = TestData.Load(DatasetSplit.Test);
        var options = new DqTrainerOptions { Epochs = 2, BatchSize = 64, Seed = 5, Threads = TestData.Threads };
        Fp = new DqTrainer(TestData.SmallCnn(TrainingMode.FullPrecision), options).Fit(Train).Model;
        Vq = new DqTrainer(TestData.SmallCnn(TrainingMode.Vanilla, bits: 4), options).Fit(Train).Model;
    }

    public ImageDataset Train { get; }
    public ImageDataset Test { get; }
    public DqModel Fp { get; }
    public DqModel Vq { get; }

    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
        Fp.Dispose();
        Vq.Dispose();
    }
}
