using DqMlNet.Build;
using DqMlNet.Runtime;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

public class TorchLoadTests
{
    [Fact]
    public void TensorOpRunsAndThreadCountIsTheOneSet()
    {
        TorchRuntime.SetThreads(1);
        Assert.Equal(1, get_num_threads());
        using var a = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var b = a.matmul(a.t());
        Assert.Equal(new float[] { 5, 14, 14, 50 }, b.data<float>().ToArray());
        TorchRuntime.SetThreads(2);
        Assert.Equal(2, get_num_threads());
        Assert.Equal(2, TorchRuntime.Threads);
    }

    [Fact]
    public void CopiedNativeLibraryIsPatchedExactlyWhenTheSystemLacksTheVersion()
    {
        var copied = Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).ToList();
        if (!OperatingSystem.IsLinux()) return; // the patch is Linux-only by design
        Assert.NotEmpty(copied);
        var systemLib = ElfVersionNeeds.FindSystemLibStdCxx();
        Assert.NotNull(systemLib);
        var defined = ElfVersionNeeds.ReadDefinitions(File.ReadAllBytes(systemLib!));
        Assert.Contains(defined, v => v.StartsWith("GLIBCXX_3.4", StringComparison.Ordinal));
        bool systemHas = defined.Contains("GLIBCXX_3.4.32");
        foreach (var path in copied)
        {
            var need = ElfVersionNeeds.ReadNeeds(File.ReadAllBytes(path)).Single(n => n.Version == "GLIBCXX_3.4.32");
            Assert.Equal("libstdc++.so.6", need.File);
            Assert.Equal(!systemHas, need.IsWeak);
        }
        // No stale consolidation folder beside TorchSharp.dll.
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "cpu", "libtorch_cpu.so")));
    }

    [Fact]
    public void MarkWeakFlipsOnlyTheNamedVersionAndIsIdempotent()
    {
        var path = Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).FirstOrDefault();
        if (path is null) return; // not Linux
        var elf = File.ReadAllBytes(path);
        // Start from the unpatched state, as in the NuGet package.
        var before = ElfVersionNeeds.ReadNeeds(elf);
        foreach (var n in before.Where(n => n.Version == "GLIBCXX_3.4.32")) elf[n.FlagsOffset] &= unchecked((byte)~ElfVersionNeeds.VerFlagWeak);
        var original = (byte[])elf.Clone();

        Assert.Equal(1, ElfVersionNeeds.MarkWeak(elf, "GLIBCXX_3.4.32"));
        Assert.Equal(0, ElfVersionNeeds.MarkWeak(elf, "GLIBCXX_3.4.32"));
        var after = ElfVersionNeeds.ReadNeeds(elf);
        Assert.Equal(before.Count, after.Count);
        foreach (var (b, a) in before.Zip(after))
            Assert.Equal(a.Version == "GLIBCXX_3.4.32" || b.IsWeak, a.IsWeak);
        int differing = elf.Where((t, i) => t != original[i]).Count();
        Assert.Equal(1, differing); // one flags byte, nothing else
    }

    [Fact]
    public void ApplyLeavesTheSourceUntouchedAndPatchesTheCopy()
    {
        var source = Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).FirstOrDefault();
        if (source is null) return;
        var dir = TestData.TempDirectory();
        try
        {
            var elf = File.ReadAllBytes(source);
            foreach (var n in ElfVersionNeeds.ReadNeeds(elf).Where(n => n.Version == "GLIBCXX_3.4.32"))
                elf[n.FlagsOffset] &= unchecked((byte)~ElfVersionNeeds.VerFlagWeak);
            var unpatched = Path.Combine(dir, "original.so");
            File.WriteAllBytes(unpatched, elf);
            var outDir = Directory.CreateDirectory(Path.Combine(dir, "out", "runtimes", "linux-x64", "native")).FullName;
            var copy = Path.Combine(outDir, "libLibTorchSharp.so");
            File.Copy(unpatched, copy);
            // A fake version that no libstdc++ defines is always "missing", so Apply must patch it if the lib needs it;
            // GLIBCXX_3.4.32 is patched only where the system lacks it.
            var log = TorchSharpNativeFix.Apply(Path.Combine(dir, "out"), new[] { "GLIBCXX_3.4.32" }, null);
            bool systemHas = ElfVersionNeeds.ReadDefinitions(File.ReadAllBytes(ElfVersionNeeds.FindSystemLibStdCxx()!)).Contains("GLIBCXX_3.4.32");
            Assert.Equal(!systemHas, ElfVersionNeeds.ReadNeeds(File.ReadAllBytes(copy)).Single(n => n.Version == "GLIBCXX_3.4.32").IsWeak);
            Assert.Equal(systemHas ? 0 : 1, log.Count);
            Assert.Equal(elf, File.ReadAllBytes(unpatched));
            Assert.Empty(TorchSharpNativeFix.Apply(Path.Combine(dir, "out"), new[] { "GLIBCXX_3.4.32" }, null)); // idempotent
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
