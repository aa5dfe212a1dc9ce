using System.Diagnostics;
using DqMlNet.Data;
using DqMlNet.TorchTraining;

namespace DqMlNet.Tests;

/// <summary>
/// A training process killed with SIGKILL in the middle of an epoch resumes from its last checkpoint and ends with
/// weights bit-identical to a run that was never interrupted (model, optimizer, global and probe generator states all
/// travel in the checkpoint; shuffling and augmentation are drawn from the seed and the epoch).
/// </summary>
public class KillAndResumeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task SigkillMidEpochThenResumeGivesBitIdenticalWeights()
    {
        var dir = TestData.TempDirectory();
        try
        {
            var checkpoints = Path.Combine(dir, "checkpoints");
            var reference = Path.Combine(dir, "reference.sha256");
            var resumed = Path.Combine(dir, "resumed.sha256");

            // 1. The uninterrupted run.
            var (code, output) = ChildRunner.Run(null, Timeout, "train", "-", reference);
            Assert.True(code == 0, output);

            // 2. The same run with checkpoints, killed in epoch 2 after its third batch (epoch 1's checkpoint exists).
            var checkpoint = Path.Combine(checkpoints, Checkpoint.FileName);
            using (var victim = Process.Start(ChildRunner.StartInfo(null, "train", checkpoints, resumed))!)
            {
                var stderr = victim.StandardError.ReadToEndAsync();
                string? line;
                bool killed = false;
                var clock = Stopwatch.StartNew();
                while ((line = victim.StandardOutput.ReadLine()) is not null && clock.Elapsed < Timeout)
                {
                    if (line.StartsWith("progress epoch 2 batch 3/", StringComparison.Ordinal))
                    {
                        Assert.True(File.Exists(checkpoint), "epoch 1's checkpoint should exist when epoch 2 runs");
                        victim.Kill(); // SIGKILL on Unix: no handler, no finally block runs in the child
                        killed = true;
                        break;
                    }
                }
                Assert.True(killed, "the child never reached epoch 2, batch 3: " + await stderr);
                Assert.True(victim.WaitForExit(60_000));
                Assert.NotEqual(0, victim.ExitCode);
            }
            Assert.False(File.Exists(resumed), "the killed run must not have finished");
            var atKill = Checkpoint.Load(checkpoint);
            Assert.Equal(1, atKill.EpochsCompleted);
            Assert.NotEmpty(atKill.ProbeRngState);

            // 3. Resume: the run continues from epoch 1's checkpoint and ends exactly where the reference ended.
            (code, output) = ChildRunner.Run(null, Timeout, "train", checkpoints, resumed);
            Assert.True(code == 0, output);
            Assert.DoesNotContain("progress epoch 1 ", output);
            Assert.Contains("progress epoch 2 batch 1/", output);
            Assert.Equal(File.ReadAllText(reference), File.ReadAllText(resumed));
            Assert.Equal(3, Checkpoint.Load(checkpoint).EpochsCompleted);
            Assert.Equal(2, Checkpoint.Load(Checkpoint.PreviousPath(checkpoint)).EpochsCompleted);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
