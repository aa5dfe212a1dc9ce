namespace DqMlNet.Fuzz;

/// <summary>
/// A private folder per fuzzing process: readers take paths, so each input is written to a file here first. Emptied
/// between inputs, deleted at exit.
/// </summary>
internal static class Scratch
{
    public static readonly string Directory = CreateDirectory();

    private static string CreateDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "dqmlnet-fuzz-" + Environment.ProcessId);
        System.IO.Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { System.IO.Directory.Delete(dir, recursive: true); } catch (IOException) { }
        };
        return dir;
    }

    /// <summary>Writes <paramref name="bytes"/> to a fresh file named <paramref name="name"/> in an empty folder.</summary>
    public static string File(string name, byte[] bytes)
    {
        Clear();
        var path = Path.Combine(Directory, name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>An empty sub-folder (for readers that write their output next to the input).</summary>
    public static string Folder(string name)
    {
        var path = Path.Combine(Directory, name);
        System.IO.Directory.CreateDirectory(path);
        return path;
    }

    public static void Clear()
    {
        foreach (var f in System.IO.Directory.EnumerateFiles(Directory)) System.IO.File.Delete(f);
        foreach (var d in System.IO.Directory.EnumerateDirectories(Directory)) System.IO.Directory.Delete(d, recursive: true);
    }
}
