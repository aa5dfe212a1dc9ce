using System.Runtime.InteropServices;

namespace DqMlNet.Cli;

/// <summary>
/// A key that is equal for two paths exactly when they name the same file: through symbolic links, hard links, "..",
/// and (on Linux) bind mounts, because an existing file is keyed by its device and inode. A path that does not exist yet
/// is keyed by its folder's key and its file name, so two new outputs in one folder reached by different paths collide
/// too. Where <c>stat</c> is not available the key is the full path with the final symbolic link resolved.
/// </summary>
internal static class FileIdentity
{
    /// <summary>The identity key of <paramref name="path"/>.</summary>
    public static string Key(string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full) || Directory.Exists(full))
        {
            if (TryStat(full, out ulong device, out ulong inode)) return $"inode:{device}:{inode}";
            return "path:" + Normalize(ResolveLinks(full));
        }
        var parent = Path.GetDirectoryName(full);
        if (parent is null) return "path:" + Normalize(full);
        return Key(parent) + "/" + Normalize(Path.GetFileName(full));
    }

    /// <summary>True when the two paths name the same file (existing or not).</summary>
    public static bool Same(string a, string b) => Key(a) == Key(b);

    private static string ResolveLinks(string full)
    {
        try
        {
            var target = File.Exists(full) ? File.ResolveLinkTarget(full, returnFinalTarget: true) : Directory.ResolveLinkTarget(full, returnFinalTarget: true);
            return target?.FullName ?? full;
        }
        catch (IOException)
        {
            return full;
        }
    }

    // Case-insensitive file systems are the default on Windows and macOS.
    private static string Normalize(string path) => OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? path.ToUpperInvariant() : path;

    // glibc's struct stat on 64-bit Linux (x86-64 and the generic layout of arm64 alike) starts with the 8-byte st_dev and
    // the 8-byte st_ino; the rest of the structure (at most 144 bytes) is not read.
    private static bool TryStat(string path, out ulong device, out ulong inode)
    {
        device = inode = 0;
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess ||
            RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64)) return false;
        var buffer = new byte[256];
        try
        {
            if (stat(path, buffer) != 0) return false;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc 2.33+ (e.g. musl): fall back to paths
        }
        device = BitConverter.ToUInt64(buffer, 0);
        inode = BitConverter.ToUInt64(buffer, 8);
        return true;
    }

    [DllImport("libc.so.6", EntryPoint = "stat", SetLastError = true)]
    private static extern int stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);
}
