using System.Runtime.InteropServices;

namespace DqMlNet.Bench;

/// <summary>What the machine is: CPU model, cores, SIMD flags, runtimes.</summary>
internal static class MachineInfo
{
    public static void Fill(Dictionary<string, object?> m, Settings s)
    {
        string cpu = "unknown";
        var flags = new List<string>();
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal) && cpu == "unknown") cpu = line.Split(':', 2)[1].Trim();
                if (line.StartsWith("flags", StringComparison.Ordinal) && flags.Count == 0)
                    flags = line.Split(':', 2)[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                        .Where(f => f is "avx" or "avx2" or "fma" or "f16c" || f.StartsWith("avx512", StringComparison.Ordinal) || f.Contains("vnni", StringComparison.Ordinal) || f.StartsWith("amx", StringComparison.Ordinal))
                        .ToList();
            }
        }
        catch (IOException)
        {
        }
        m["cpu"] = cpu;
        m["logicalCores"] = Environment.ProcessorCount;
        m["simdFlags"] = flags;
        m["os"] = RuntimeInformation.OSDescription;
        m["dotnet"] = RuntimeInformation.FrameworkDescription;
        m["torchSharp"] = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString();
        m["libtorchThreads"] = TorchSharp.torch.get_num_threads();
        m["onnxRuntime"] = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString();
        m["mallocEnv"] = Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is null ? "default" : "MALLOC_MMAP_THRESHOLD_ set";
    }

}
