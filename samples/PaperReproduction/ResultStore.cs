using System.Text;
using System.Text.Json;
using DqMlNet.Data;

namespace DqMlNet.Samples.PaperReproduction;

/// <summary>
/// The study's on-disk state, which makes a run resumable: each trained model keeps its trainer checkpoint under
/// <paramref name="root"/> (a finished model resumes in no time), and each measurement is one JSON file, written
/// atomically, under <paramref name="resultsRoot"/> (by default <c>root/results</c>). On restart, whatever exists is
/// read back instead of recomputed, so an interrupted run continues where it stopped. The measurements are small and
/// can live apart from the checkpoints (the sample keeps them beside the report it generates, in the repository).
/// </summary>
internal sealed class ResultStore(string root, string? resultsRoot = null)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>The folder of the measurement files.</summary>
    public string ResultsRoot { get; } = Path.GetFullPath(resultsRoot ?? Path.Combine(root, "results"));

    public string CheckpointDirectory(string runId) => Path.Combine(Root, "runs", runId);

    public string ResultPath(string key) => Path.Combine(ResultsRoot, key + ".json");

    /// <summary>The stored value of <paramref name="key"/>, or <paramref name="compute"/>'s result, stored first.</summary>
    public T GetOrCompute<T>(string key, Func<T> compute, Action<string>? log = null)
    {
        var path = ResultPath(key);
        if (File.Exists(path))
        {
            try
            {
                var stored = JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json);
                if (stored is not null) return stored;
            }
            catch (JsonException ex)
            {
                // A result written by an older version of this sample: measure again rather than report stale numbers.
                log?.Invoke($"{key}: stored result unreadable ({ex.Message}); measuring again");
            }
        }
        var value = compute();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(value, Json)));
        return value;
    }

    public bool Has(string key) => File.Exists(ResultPath(key));

    /// <summary>The stored value of <paramref name="key"/>, or null when it is missing or unreadable.</summary>
    public T? TryRead<T>(string key) where T : class
    {
        var path = ResultPath(key);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
