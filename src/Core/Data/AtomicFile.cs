using System.Diagnostics;
using System.Globalization;

namespace DqMlNet.Data;

/// <summary>
/// Writes files through a temporary file in the same folder and a rename, so a reader never sees a half-written file.
/// Temporary files are named <c>.&lt;name&gt;.&lt;pid&gt;.&lt;random&gt;.tmp</c>: a failed write deletes its own, and every
/// write first removes those of the same target that a killed writer left behind (see <see cref="RemoveStaleTemps"/>).
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// A temporary file older than this is removed even when its process id belongs to a running process: process ids
    /// are reused, and no single write of this library takes a day.
    /// </summary>
    public static readonly TimeSpan StaleAge = TimeSpan.FromHours(24);

    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/>; on any failure the previous file (if any) is untouched.</summary>
    public static void Write(string path, Action<Stream> write) => Write(path, write, overwrite: true);

    /// <summary>
    /// Writes <paramref name="path"/> with <paramref name="write"/>. With <paramref name="overwrite"/> false an existing
    /// file is never replaced, even one created by someone else while this write was running (<see cref="IOException"/>).
    /// On any failure the temporary file is deleted and the previous file (if any) is untouched.
    /// </summary>
    public static void Write(string path, Action<Stream> write, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        RemoveStaleTemps(full);
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            try
            {
                File.Move(temp, full, overwrite);
            }
            catch (IOException e) when (!overwrite && File.Exists(full))
            {
                throw new IOException($"'{full}' already exists (it appeared while it was being written); it was left untouched.", e);
            }
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>Writes all <paramref name="bytes"/> atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    /// <summary>Writes all <paramref name="bytes"/> atomically; with <paramref name="overwrite"/> false an existing file is never replaced.</summary>
    public static void WriteAllBytes(string path, byte[] bytes, bool overwrite) => Write(path, s => s.Write(bytes), overwrite);

    /// <summary>
    /// Deletes the temporary files of <paramref name="path"/> that no running writer owns: those whose process id is not
    /// a running process, and those older than <see cref="StaleAge"/>. Temporary files of this process and of other
    /// running processes are kept, so concurrent writers of one target do not disturb each other. Failures to delete
    /// are ignored (the write itself does not depend on them). Returns the number of files deleted.
    /// </summary>
    public static int RemoveStaleTemps(string path)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full);
        if (dir is null || !Directory.Exists(dir)) return 0;
        var prefix = "." + Path.GetFileName(full) + ".";
        var options = new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = true, RecurseSubdirectories = false, MatchType = MatchType.Simple };
        int removed = 0;
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(dir, "*.tmp", options).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        foreach (var candidate in candidates)
        {
            var name = Path.GetFileName(candidate);
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || !TryParseOwner(name.AsSpan(prefix.Length), out int pid)) continue;
            DateTime written;
            try
            {
                written = File.GetLastWriteTimeUtc(candidate);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            bool old = DateTime.UtcNow - written > StaleAge;
            if (!old && IsRunning(pid)) continue;
            if (TryDelete(candidate)) removed++;
        }
        return removed;
    }

    /// <summary>Parses "&lt;pid&gt;.&lt;32 hex digits&gt;.tmp", the part of a temporary file name after ".&lt;target name&gt;.".</summary>
    private static bool TryParseOwner(ReadOnlySpan<char> rest, out int pid)
    {
        pid = 0;
        int dot = rest.IndexOf('.');
        if (dot < 1 || !int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out pid)) return false;
        var tail = rest[(dot + 1)..];
        return tail.Length == 32 + 4 && tail.EndsWith(".tmp", StringComparison.Ordinal) && tail[..32].IndexOfAnyExcept("0123456789abcdef") < 0;
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false; // no such process
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or NotSupportedException or UnauthorizedAccessException)
        {
            return true; // cannot tell: keep the file (the age rule still removes it eventually)
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            if (!File.Exists(path)) return false;
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
