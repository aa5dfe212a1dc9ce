using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DqMlNet.Bench;

/// <summary>One measured figure.</summary>
internal sealed record Row(string Section, string Metric, double Value, string Unit, string? Note = null);

/// <summary>One performance target (a ratio with its limit) and whether this run met it.</summary>
internal sealed record Target(string Name, string Rule, double? Value, bool? Met, string Why);

/// <summary>Everything one run measured, printed as a table and written as JSON.</summary>
internal sealed class Results
{
    private readonly object gate = new();

    public List<Row> Rows { get; } = new();

    public List<Target> Targets { get; } = new();

    public List<string> Notes { get; } = new();

    public Dictionary<string, object?> Machine { get; } = new();

    public void Add(string section, string metric, double value, string unit, string? note = null)
    {
        lock (gate) Rows.Add(new Row(section, metric, value, unit, note));
        Console.WriteLine($"  [{section}] {metric}: {Format(value)} {unit}{(note is null ? "" : "  (" + note + ")")}");
    }

    private readonly List<(int Index, Func<GemmPeaks, double> Value, Func<GemmPeaks, string>? Note)> deferred = new();

    /// <summary>
    /// A figure measured against the machine's GEMM peaks (a fraction of peak, a floor at the peak). The run measures the
    /// peaks at its start and at its end, and on a VM the two can differ by a third (one ONNX Runtime session runs at one
    /// of two speeds): the row keeps its place in the table and gets its value from <see cref="ResolvePeakRows"/>, against
    /// the best peak the run measured, so that no fraction is taken of a reference the machine beat in the same run.
    /// </summary>
    public void AddAtPeak(string section, string metric, string unit, Func<GemmPeaks, double> value, Func<GemmPeaks, string>? note = null)
    {
        lock (gate)
        {
            deferred.Add((Rows.Count, value, note));
            Rows.Add(new Row(section, metric, double.NaN, unit, null));
        }
    }

    /// <summary>Gives every <see cref="AddAtPeak"/> row its value against <paramref name="reference"/>.</summary>
    public void ResolvePeakRows(GemmPeaks reference)
    {
        lock (gate)
        {
            foreach (var (index, value, note) in deferred)
            {
                var row = Rows[index] with { Value = value(reference), Note = note?.Invoke(reference) };
                Rows[index] = row;
                Console.WriteLine($"  [{row.Section}] {row.Metric}: {Format(row.Value)} {row.Unit}{(row.Note is null ? "" : "  (" + row.Note + ")")}");
            }
            deferred.Clear();
        }
    }

    public double? Get(string section, string metric) =>
        Rows.LastOrDefault(r => r.Section == section && r.Metric == metric)?.Value;

    /// <summary>Values of every row whose metric name matches.</summary>
    public List<double> Find(Func<string, bool> metric)
    {
        lock (gate) return Rows.Where(r => metric(r.Metric)).Select(r => r.Value).ToList();
    }

    public void Note(string note)
    {
        Notes.Add(note);
        Console.WriteLine("  note: " + note);
    }

    /// <summary>Adds a target; <paramref name="atMost"/> true means value ≤ limit passes, false means value ≥ limit (or &lt; for strict).</summary>
    public void AddTarget(string name, double? value, double limit, bool atMost, string why, bool strict = false)
    {
        bool? met = value is double v && double.IsFinite(v)
            ? atMost ? (strict ? v < limit : v <= limit) : (strict ? v > limit : v >= limit)
            : null;
        string rule = (atMost ? (strict ? "< " : "≤ ") : (strict ? "> " : "≥ ")) + limit.ToString("0.###", CultureInfo.InvariantCulture);
        Targets.Add(new Target(name, rule, value, met, why));
    }

    public static string Format(double v) =>
        double.IsNaN(v) ? "n/a"
        : Math.Abs(v) >= 1000 ? v.ToString("N0", CultureInfo.InvariantCulture)
        : Math.Abs(v) >= 100 ? v.ToString("0.0", CultureInfo.InvariantCulture)
        : Math.Abs(v) >= 1 ? v.ToString("0.00", CultureInfo.InvariantCulture)
        : v.ToString("0.000", CultureInfo.InvariantCulture);

    public string Table()
    {
        var sb = new StringBuilder();
        int w1 = Math.Max(8, Rows.Select(r => r.Section.Length).DefaultIfEmpty(8).Max());
        int w2 = Math.Max(6, Rows.Select(r => r.Metric.Length).DefaultIfEmpty(6).Max());
        sb.AppendLine($"| {"Section".PadRight(w1)} | {"Metric".PadRight(w2)} | {"Value",12} | Unit | Note |");
        sb.AppendLine($"|{new string('-', w1 + 2)}|{new string('-', w2 + 2)}|{new string('-', 14)}|------|------|");
        foreach (var r in Rows)
            sb.AppendLine($"| {r.Section.PadRight(w1)} | {r.Metric.PadRight(w2)} | {Format(r.Value),12} | {r.Unit} | {r.Note ?? ""} |");
        return sb.ToString();
    }

    public string TargetTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine("| Target | Rule | Measured | Met | Why |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var t in Targets)
            sb.AppendLine($"| {t.Name} | {t.Rule} | {(t.Value is double v ? Format(v) : "n/a")} | {(t.Met switch { true => "met", false => "**missed**", null => "not measured" })} | {t.Why} |");
        return sb.ToString();
    }

    public void WriteJson(string path, Dictionary<string, object?> run)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var doc = new Dictionary<string, object?>
        {
            ["run"] = run,
            ["machine"] = Machine,
            ["rows"] = Rows.Select(r => new { r.Section, r.Metric, Value = double.IsFinite(r.Value) ? r.Value : (double?)null, r.Unit, r.Note }),
            ["targets"] = Targets.Select(t => new { t.Name, t.Rule, Value = t.Value is double v && double.IsFinite(v) ? v : (double?)null, t.Met, t.Why }),
            ["notes"] = Notes,
        };
        var options = new JsonSerializerOptions
        {
            WriteIndented = true,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(doc, options));
    }
}
