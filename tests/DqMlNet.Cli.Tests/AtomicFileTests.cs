using System.Diagnostics;
using DqMlNet.Data;

namespace DqMlNet.Tests;

/// <summary>AtomicFile: a failed write leaves the old file and no temporary file; temporary files of killed writers are removed at the next write.</summary>
public sealed class AtomicFileTests : IDisposable
{
    private readonly string dir = TestData.TempDirectory();

    public void Dispose() => Directory.Delete(dir, true);

    private string[] Temps() => Directory.GetFiles(dir, "*.tmp").Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public void AFailedWriteLeavesThePreviousFileAndNoTemp()
    {
        var path = Path.Combine(dir, "model.zip");
        File.WriteAllText(path, "previous");
        var ex = Assert.Throws<InvalidDataException>(() => AtomicFile.Write(path, s =>
        {
            s.Write("half of the new"u8);
            throw new InvalidDataException("the writer failed");
        }));
        Assert.Equal("the writer failed", ex.Message);
        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Empty(Temps());
    }

    [Fact]
    public void WithoutOverwriteAnExistingFileIsKept()
    {
        var path = Path.Combine(dir, "r.json");
        File.WriteAllText(path, "mine");
        var ex = Assert.Throws<IOException>(() => AtomicFile.WriteAllBytes(path, "new"u8.ToArray(), overwrite: false));
        Assert.Contains("already exists", ex.Message);
        Assert.Equal("mine", File.ReadAllText(path));
        Assert.Empty(Temps());
        AtomicFile.WriteAllBytes(Path.Combine(dir, "fresh.json"), "new"u8.ToArray(), overwrite: false);
        Assert.Equal("new", File.ReadAllText(Path.Combine(dir, "fresh.json")));
    }

    [Fact]
    public void TempsOfKilledWritersAreRemovedAtTheNextWrite()
    {
        var path = Path.Combine(dir, "model.zip");
        using var live = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        using var killed = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        killed.Kill(); // SIGKILL: a writer that never reached its cleanup
        killed.WaitForExit();

        string Temp(string target, int pid) => $".{target}.{pid}.{Guid.NewGuid():N}.tmp";
        var ofKilled = Temp("model.zip", killed.Id);
        var ofLive = Temp("model.zip", live.Id);
        var ofThisProcess = Temp("model.zip", Environment.ProcessId); // a concurrent writer in this process
        var oldOfLive = Temp("model.zip", live.Id);
        var otherTarget = Temp("other.zip", killed.Id);
        var notOurs = $".model.zip.{killed.Id}.notes.tmp";
        foreach (var name in new[] { ofKilled, ofLive, ofThisProcess, oldOfLive, otherTarget, notOurs })
            File.WriteAllText(Path.Combine(dir, name), "partial");
        File.SetLastWriteTimeUtc(Path.Combine(dir, oldOfLive), DateTime.UtcNow - AtomicFile.StaleAge - TimeSpan.FromHours(1)); // its pid may be reused

        AtomicFile.WriteAllBytes(path, "new"u8.ToArray());

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(new[] { ofLive, ofThisProcess, otherTarget, notOurs }.Order().ToArray(), Temps());
        Assert.Equal(0, AtomicFile.RemoveStaleTemps(path));
        live.Kill();
        live.WaitForExit();
        Assert.Equal(1, AtomicFile.RemoveStaleTemps(path));
        Assert.Equal(1, AtomicFile.RemoveStaleTemps(Path.Combine(dir, "other.zip")));
        Assert.Equal(new[] { ofThisProcess, notOurs }.Order().ToArray(), Temps());
    }

    [Fact]
    public void ConcurrentWritersOfOneFileDoNotDisturbEachOther()
    {
        var path = Path.Combine(dir, "shared.json");
        var payloads = Enumerable.Range(0, 8).Select(i => Enumerable.Repeat((byte)('a' + i), 64 * 1024).ToArray()).ToArray();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            for (int k = 0; k < 10; k++) AtomicFile.WriteAllBytes(path, payloads[i]);
        });
        var final = File.ReadAllBytes(path);
        Assert.Contains(payloads, p => p.AsSpan().SequenceEqual(final));
        Assert.Empty(Temps());
    }
}
