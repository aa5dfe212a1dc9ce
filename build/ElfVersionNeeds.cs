// Reads and edits the symbol-version sections of an ELF64 little-endian shared library.
//
// Why this exists: TorchSharp 0.107's libLibTorchSharp.so declares a need for GLIBCXX_3.4.32 (GCC 13) for one
// symbol, std::ios_base_library_init(), that no relocation uses. Debian 12's libstdc++ stops at 3.4.30, so the
// dynamic loader refuses the library although nothing it calls is missing. Marking that version need
// VER_FLG_WEAK makes the loader accept its absence. The build applies this to the *copied* library only.
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory (with the task class at the bottom) and by the
// test project (with DQ_ELF_NO_MSBUILD defined, without the task), so the ELF logic itself is unit-tested.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace DqMlNet.Build
{
    /// <summary>One entry of <c>.gnu.version_r</c>: a version the library needs from another library.</summary>
    public sealed class ElfVersionNeed
    {
        public ElfVersionNeed(string file, string version, ushort flags, int flagsOffset)
        {
            File = file; Version = version; Flags = flags; FlagsOffset = flagsOffset;
        }

        public string File { get; }
        public string Version { get; }
        public ushort Flags { get; }
        /// <summary>Byte offset of <c>vna_flags</c> in the file.</summary>
        public int FlagsOffset { get; }
        public bool IsWeak => (Flags & ElfVersionNeeds.VerFlagWeak) != 0;
    }

    /// <summary>Parses <c>.gnu.version_d</c> / <c>.gnu.version_r</c> and marks version needs weak.</summary>
    public static class ElfVersionNeeds
    {
        public const ushort VerFlagWeak = 0x2;
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;

        public static bool IsElf64LittleEndian(byte[] elf) =>
            elf.Length >= 64 && elf[0] == 0x7f && elf[1] == (byte)'E' && elf[2] == (byte)'L' && elf[3] == (byte)'F'
            && elf[4] == 2 && elf[5] == 1;

        /// <summary>Version names a library defines (e.g. GLIBCXX_3.4.30 in libstdc++).</summary>
        public static IReadOnlyList<string> ReadDefinitions(byte[] elf)
        {
            var result = new List<string>();
            foreach (var (offset, size, strtab, count) in Sections(elf, ShtGnuVerdef))
            {
                int entry = offset;
                for (int i = 0; i < count && entry + 20 <= offset + size; i++)
                {
                    int aux = entry + (int)U32(elf, entry + 12);
                    // The first Verdaux names the version itself; later ones name its parents.
                    result.Add(CString(elf, strtab + (int)U32(elf, aux)));
                    uint next = U32(elf, entry + 16);
                    if (next == 0) break;
                    entry += (int)next;
                }
            }
            return result;
        }

        /// <summary>Version needs a library declares, with the position of each flags field.</summary>
        public static IReadOnlyList<ElfVersionNeed> ReadNeeds(byte[] elf)
        {
            var result = new List<ElfVersionNeed>();
            foreach (var (offset, size, strtab, count) in Sections(elf, ShtGnuVerneed))
            {
                int entry = offset;
                for (int i = 0; i < count && entry + 16 <= offset + size; i++)
                {
                    ushort auxCount = U16(elf, entry + 2);
                    string file = CString(elf, strtab + (int)U32(elf, entry + 4));
                    int aux = entry + (int)U32(elf, entry + 8);
                    for (int j = 0; j < auxCount; j++)
                    {
                        ushort flags = U16(elf, aux + 4);
                        string name = CString(elf, strtab + (int)U32(elf, aux + 8));
                        result.Add(new ElfVersionNeed(file, name, flags, aux + 4));
                        uint auxNext = U32(elf, aux + 12);
                        if (auxNext == 0) break;
                        aux += (int)auxNext;
                    }
                    uint next = U32(elf, entry + 12);
                    if (next == 0) break;
                    entry += (int)next;
                }
            }
            return result;
        }

        /// <summary>Sets VER_FLG_WEAK on every need of <paramref name="version"/>; returns how many flags changed.</summary>
        public static int MarkWeak(byte[] elf, string version)
        {
            int changed = 0;
            foreach (var need in ReadNeeds(elf))
            {
                if (need.Version != version || need.IsWeak) continue;
                ushort flags = (ushort)(need.Flags | VerFlagWeak);
                elf[need.FlagsOffset] = (byte)(flags & 0xff);
                elf[need.FlagsOffset + 1] = (byte)(flags >> 8);
                changed++;
            }
            return changed;
        }

        /// <summary>
        /// Finds the libstdc++ the dynamic loader would use: the one already mapped into this process (the .NET host
        /// links it), else the usual Debian/Red Hat locations.
        /// </summary>
        public static string? FindSystemLibStdCxx()
        {
            try
            {
                foreach (var line in System.IO.File.ReadLines("/proc/self/maps"))
                {
                    int slash = line.IndexOf('/');
                    if (slash >= 0 && line.IndexOf("libstdc++.so", slash, StringComparison.Ordinal) >= 0)
                        return line.Substring(slash).Trim();
                }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }

            string[] candidates =
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/lib/aarch64-linux-gnu/libstdc++.so.6",
                "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
            };
            foreach (var c in candidates)
                if (System.IO.File.Exists(c)) return c;
            return null;
        }

        private static IEnumerable<(int Offset, int Size, int StrTab, int Count)> Sections(byte[] elf, uint type)
        {
            if (!IsElf64LittleEndian(elf)) throw new InvalidDataException("Not an ELF64 little-endian file.");
            long shoff = (long)U64(elf, 0x28);
            int shentsize = U16(elf, 0x3a);
            int shnum = U16(elf, 0x3c);
            if (shoff <= 0 || shentsize < 64 || shoff + (long)shentsize * shnum > elf.Length)
                throw new InvalidDataException("ELF section header table lies outside the file.");
            for (int i = 0; i < shnum; i++)
            {
                int sh = (int)shoff + i * shentsize;
                if (U32(elf, sh + 4) != type) continue;
                int offset = (int)U64(elf, sh + 0x18);
                int size = (int)U64(elf, sh + 0x20);
                int link = (int)U32(elf, sh + 0x28);
                int info = (int)U32(elf, sh + 0x2c); // number of entries for verdef/verneed
                int strtab = (int)U64(elf, (int)shoff + link * shentsize + 0x18);
                yield return (offset, size, strtab, info);
            }
        }

        private static ushort U16(byte[] b, int o) => (ushort)(b[o] | b[o + 1] << 8);
        private static uint U32(byte[] b, int o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
        private static ulong U64(byte[] b, int o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;

        private static string CString(byte[] b, int o)
        {
            int end = o;
            while (end < b.Length && b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, o, end - o);
        }
    }

    /// <summary>The build step: weakens, in copied TorchSharp native libraries, version needs the system lacks.</summary>
    public static class TorchSharpNativeFix
    {
        /// <summary>
        /// Patches every <c>libLibTorchSharp.so</c> below <paramref name="directory"/>. Returns one line per action for
        /// the build log. Writes through a temp file + rename, so a hard link into the NuGet cache is never modified.
        /// With <paramref name="always"/> (publish: the folder runs on another machine, whose libstdc++ this one cannot
        /// know) every listed version is marked weak whatever this machine has; a weak need of a version that is
        /// present binds exactly as before, so this is harmless where the version exists.
        /// </summary>
        public static IReadOnlyList<string> Apply(string directory, IEnumerable<string> versions, string? systemLibStdCxx, bool always = false)
        {
            var log = new List<string>();
            if (!Directory.Exists(directory)) return log;
            var missing = new List<string>();
            string libstdcxx;
            if (always)
            {
                libstdcxx = "the target machine's libstdc++ may lack it";
                foreach (var v in versions)
                    if (!string.IsNullOrWhiteSpace(v)) missing.Add(v.Trim());
            }
            else
            {
                string? found = systemLibStdCxx ?? ElfVersionNeeds.FindSystemLibStdCxx();
                if (found == null || !System.IO.File.Exists(found))
                {
                    log.Add("no system libstdc++ found; TorchSharp native library left unchanged");
                    return log;
                }
                var defined = new HashSet<string>(ElfVersionNeeds.ReadDefinitions(System.IO.File.ReadAllBytes(found)));
                foreach (var v in versions)
                    if (!string.IsNullOrWhiteSpace(v) && !defined.Contains(v.Trim())) missing.Add(v.Trim());
                libstdcxx = found + " lacks it";
            }

            // TorchSharp, after a failed load, consolidates copies of every native library into 'cpu/' beside its
            // assembly; a stale copy there would be unpatched. Remove it only when it is recognisably TorchSharp's.
            foreach (var managed in Directory.EnumerateFiles(directory, "TorchSharp.dll", SearchOption.AllDirectories))
            {
                string cpu = Path.Combine(Path.GetDirectoryName(managed)!, "cpu");
                if (System.IO.File.Exists(Path.Combine(cpu, "libtorch_cpu.so")))
                {
                    Directory.Delete(cpu, recursive: true);
                    log.Add($"removed stale TorchSharp consolidation folder {cpu}");
                }
            }

            foreach (var path in Directory.EnumerateFiles(directory, "libLibTorchSharp.so", SearchOption.AllDirectories))
            {
                if (missing.Count == 0) break;
                byte[] elf = System.IO.File.ReadAllBytes(path);
                if (!ElfVersionNeeds.IsElf64LittleEndian(elf)) continue;
                int changed = 0;
                foreach (var v in missing) changed += ElfVersionNeeds.MarkWeak(elf, v);
                if (changed == 0) continue;
                DateTime stamp = System.IO.File.GetLastWriteTimeUtc(path);
                string temp = path + ".dqpatch.tmp";
                System.IO.File.WriteAllBytes(temp, elf);
                // Keep the original time stamp so MSBuild's incremental copy does not see a changed file.
                System.IO.File.SetLastWriteTimeUtc(temp, stamp);
                System.IO.File.Replace(temp, path, null); // a rename: atomic, and breaks any hard link to the cache
                log.Add($"marked {string.Join(", ", missing)} weak in {path} ({libstdcxx})");
            }
            return log;
        }
    }
}

#if !DQ_ELF_NO_MSBUILD
namespace DqMlNet.Build
{
    /// <summary>MSBuild entry point; see <see cref="TorchSharpNativeFix"/>.</summary>
    public sealed class PatchTorchSharpNative : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public string Directory { get; set; } = "";

        /// <summary>Semicolon-separated version names that may be marked weak (only these; never a version in use).</summary>
        public string Versions { get; set; } = "GLIBCXX_3.4.32";

        /// <summary>Mark the versions weak whatever this machine's libstdc++ defines (publish output runs elsewhere).</summary>
        public bool Always { get; set; }

        public override bool Execute()
        {
            try
            {
                foreach (var line in TorchSharpNativeFix.Apply(Directory, Versions.Split(';'), null, Always))
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "DqMlNet: " + line);
                return true;
            }
            catch (Exception ex)
            {
                Log.LogError("DqMlNet: could not patch TorchSharp's native library in '{0}': {1}", Directory, ex.Message);
                return false;
            }
        }
    }
}
#endif
