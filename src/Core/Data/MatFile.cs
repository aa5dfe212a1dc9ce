namespace DqMlNet.Data;

/// <summary>The 128-byte header of a MAT v5 file: descriptive text, version (0x0100), byte order and subsystem offset.</summary>
/// <param name="Text">The descriptive text (e.g. "MATLAB 5.0 MAT-file, Platform: …"), trimmed.</param>
/// <param name="Version">The version field; 0x0100 for v5/v6/v7 files.</param>
/// <param name="BigEndian">Whether the file was written big-endian (indicator "MI" rather than "IM").</param>
/// <param name="SubsystemOffset">The subsystem-data offset (0 or all spaces when unused).</param>
public sealed record MatFileHeader(string Text, int Version, bool BigEndian, long SubsystemOffset);

/// <summary>The variables read from a MAT v5 file by <see cref="MatV5Reader"/>.</summary>
public sealed class MatFile
{
    internal MatFile(string path, MatFileHeader header, Dictionary<string, MatArray> arrays, List<(string Name, MatClass Class)> variables)
    {
        Path = path;
        Header = header;
        Arrays = arrays;
        Variables = variables;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>The file header.</summary>
    public MatFileHeader Header { get; }

    /// <summary>The numeric arrays read, by name (only those asked for, when a selection was given).</summary>
    public IReadOnlyDictionary<string, MatArray> Arrays { get; }

    /// <summary>Every variable in the file with its class, in file order, including those not read.</summary>
    public IReadOnlyList<(string Name, MatClass Class)> Variables { get; }

    /// <summary>
    /// The numeric array <paramref name="name"/>; throws <see cref="InvalidDataException"/> naming the file, the
    /// variables it does have and the fix when it is missing or not a real numeric array.
    /// </summary>
    public MatArray Get(string name)
    {
        if (Arrays.TryGetValue(name, out var array)) return array;
        var found = Variables.Where(v => v.Name == name).ToList();
        string listing = Variables.Count == 0 ? "it holds no variables" : "it holds " + string.Join(", ", Variables.Select(v => $"'{v.Name}' ({v.Class})"));
        if (found.Count > 0)
            throw new InvalidDataException(
                $"'{Path}': variable '{name}' is of MATLAB class {found[0].Class}, not a real numeric array. " +
                $"Re-save it as a numeric matrix (e.g. uint8 or double) in MAT v5/v7 format.");
        throw new InvalidDataException(
            $"'{Path}' has no variable '{name}' ({listing}). The file is not the expected one or is incomplete: replace it with the right file.");
    }
}
