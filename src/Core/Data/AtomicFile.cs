namespace DqMlNet.Data;

/// <summary>Writes files through a temporary file in the same folder and a rename, so a reader never sees a half-written file.</summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/>; on any failure the previous file (if any) is untouched.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Writes all <paramref name="bytes"/> atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));
}
