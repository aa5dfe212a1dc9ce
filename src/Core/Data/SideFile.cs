using System.Security.Cryptography;
using System.Text.Json;

namespace DqMlNet.Data;

/// <summary>How a side file relates to the model file it sits next to.</summary>
public enum SideFileMatch
{
    /// <summary>There is no side file.</summary>
    Missing,

    /// <summary>The side file records the SHA-256 of exactly this model's bytes.</summary>
    Matches,

    /// <summary>The side file records no model hash (written before hashes were recorded, or for an in-memory model).</summary>
    Unverified,

    /// <summary>The side file records the hash of different bytes: it describes another (e.g. an older) model.</summary>
    Mismatch,

    /// <summary>The side file is not a JSON object, is too large, or its hash field is malformed.</summary>
    Unreadable,
}

/// <summary>
/// Side files (<c>&lt;model&gt;.training.json</c>, <c>&lt;model&gt;.robustness.json</c>) describe the model file next to
/// them. A matching name is not enough: a model retrained under the same name would show the old model's numbers. So a
/// side file records the SHA-256 of the model file's bytes in <see cref="ModelHashProperty"/>, and readers use it only
/// when that hash matches the model they serve (<see cref="BelongsTo(string, string, Action{string})"/>).
/// </summary>
public static class SideFile
{
    /// <summary>The JSON property holding the model's SHA-256 (lowercase hex).</summary>
    public const string ModelHashProperty = "modelSha256";

    /// <summary>Side files larger than this are not parsed (a side file is a few kilobytes).</summary>
    public const long MaxBytes = 16L << 20;

    /// <summary>SHA-256 of the file's bytes as lowercase hex (streamed, any size).</summary>
    public static string Sha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>SHA-256 of <paramref name="bytes"/> as lowercase hex.</summary>
    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The side file of <paramref name="modelPath"/> with <paramref name="suffix"/>: <c>dir/dq4.zip</c> + ".training.json" → <c>dir/dq4.training.json</c>.</summary>
    public static string PathFor(string modelPath, string suffix)
    {
        var full = Path.GetFullPath(modelPath);
        return Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full) + suffix);
    }

    /// <summary>Compares the hash recorded in <paramref name="sideFilePath"/> with <paramref name="modelSha256"/>; <paramref name="recorded"/> is the recorded hash, if any.</summary>
    public static SideFileMatch Match(string sideFilePath, string modelSha256, out string? recorded)
    {
        ArgumentNullException.ThrowIfNull(modelSha256);
        recorded = null;
        var info = new FileInfo(sideFilePath);
        if (!info.Exists) return SideFileMatch.Missing;
        if (info.Length > MaxBytes) return SideFileMatch.Unreadable;
        try
        {
            using var stream = info.OpenRead();
            using var doc = JsonDocument.Parse(stream);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return SideFileMatch.Unreadable;
            if (!doc.RootElement.TryGetProperty(ModelHashProperty, out var hash) || hash.ValueKind == JsonValueKind.Null) return SideFileMatch.Unverified;
            if (hash.ValueKind != JsonValueKind.String) return SideFileMatch.Unreadable;
            recorded = hash.GetString()!;
            return string.Equals(recorded, modelSha256, StringComparison.OrdinalIgnoreCase) ? SideFileMatch.Matches : SideFileMatch.Mismatch;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return SideFileMatch.Unreadable;
        }
    }

    /// <summary>
    /// True when <paramref name="sideFilePath"/> exists and may be used as a description of <paramref name="modelPath"/>:
    /// its recorded hash matches the model's bytes, or it records none (then <paramref name="warn"/> says so). A side file
    /// of another model, or an unreadable one, gives false and a warning naming the file and the fix.
    /// </summary>
    public static bool BelongsTo(string sideFilePath, string modelPath, Action<string>? warn = null)
    {
        if (!File.Exists(sideFilePath)) return false;
        return BelongsTo(sideFilePath, Sha256(modelPath), Path.GetFileName(modelPath), warn);
    }

    /// <summary><see cref="BelongsTo(string, string, Action{string})"/> with the model's hash already computed.</summary>
    public static bool BelongsTo(string sideFilePath, string modelSha256, string modelName, Action<string>? warn)
    {
        var name = Path.GetFileName(sideFilePath);
        switch (Match(sideFilePath, modelSha256, out var recorded))
        {
            case SideFileMatch.Matches:
                return true;
            case SideFileMatch.Unverified:
                warn?.Invoke($"'{name}' records no {ModelHashProperty}, so it cannot be confirmed to describe '{modelName}'; it is used as is. Re-create it (dq train / dq evaluate) to record the hash.");
                return true;
            case SideFileMatch.Mismatch:
                warn?.Invoke($"Ignoring '{name}': it describes a model with SHA-256 {Short(recorded!)}…, but '{modelName}' has {Short(modelSha256)}… (the model was replaced). Re-run dq evaluate / dq train for this model.");
                return false;
            case SideFileMatch.Unreadable:
                warn?.Invoke($"Ignoring '{name}': it is not a readable side file (a JSON object under {MaxBytes >> 20} MB with a string {ModelHashProperty}).");
                return false;
            default:
                return false;
        }
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;
}
