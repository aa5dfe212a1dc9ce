using System.Diagnostics;
using System.Globalization;

namespace DqMlNet.Bench;

/// <summary>Timing and process-memory helpers.</summary>
internal static class Measure
{
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.OrderBy(v => v).ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>Milliseconds of one call.</summary>
    public static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalMilliseconds;
    }

    /// <summary>Median milliseconds of <paramref name="reps"/> calls after <paramref name="warmup"/> untimed ones.</summary>
    public static double MedianMs(Action action, int warmup, int reps)
    {
        for (int i = 0; i < warmup; i++) action();
        var times = new List<double>(reps);
        for (int i = 0; i < reps; i++) times.Add(Time(action));
        return Median(times);
    }

    /// <summary>
    /// Runs the named actions round-robin (one call each per round), so background load on a shared machine hits every
    /// variant alike; returns each variant's per-call milliseconds.
    /// </summary>
    public static Dictionary<string, List<double>> Interleaved(IReadOnlyList<(string Name, Action Action)> variants, int warmup, int rounds)
    {
        foreach (var (_, action) in variants)
            for (int i = 0; i < warmup; i++) action();
        var result = variants.ToDictionary(v => v.Name, _ => new List<double>(rounds));
        for (int r = 0; r < rounds; r++)
            foreach (var (name, action) in variants)
                result[name].Add(Time(action));
        return result;
    }

    /// <summary>Median over rounds of the per-round ratio a/b (robust to load that changes between rounds).</summary>
    public static double MedianRatio(IReadOnlyList<double> a, IReadOnlyList<double> b) =>
        Median(a.Zip(b, (x, y) => x / y).ToList());

    /// <summary>Resident set size of this process in MiB, from /proc/self/status (NaN where unavailable).</summary>
    public static double RssMiB()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
                var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return double.Parse(kb, CultureInfo.InvariantCulture) / 1024.0;
            }
        }
        catch (IOException)
        {
        }
        return double.NaN;
    }

    /// <summary>Minor and major page faults of this process so far (from /proc/self/stat), or (−1, −1).</summary>
    public static (long Minor, long Major) PageFaults()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After "pid (comm) ": state=0, ppid=1, pgrp=2, session=3, tty=4, tpgid=5, flags=6, minflt=7, cminflt=8, majflt=9.
            return (long.Parse(fields[7], CultureInfo.InvariantCulture), long.Parse(fields[9], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
        {
            return (-1, -1);
        }
    }
}
