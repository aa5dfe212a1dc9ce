namespace DqMlNet.Cli;

/// <summary>
/// The files one command reads and writes, validated before any long work (loading data, training, attacking): no
/// output may be an input or another output (compared by <see cref="FileIdentity"/>, so symbolic and hard links count),
/// an output may not be a folder, an existing output is replaced only with --force, and each output's folder (or the
/// nearest existing ancestor that would hold it) must accept a new file. Writes then go through AtomicFile, so a failure
/// leaves every existing file as it was.
/// </summary>
internal sealed class OutputPlan
{
    private readonly List<(string Role, string Path)> inputs = new();
    private readonly List<(string Role, string Path)> outputs = new();

    /// <summary>A file the command reads.</summary>
    public OutputPlan Input(string role, string path)
    {
        inputs.Add((role, Path.GetFullPath(path)));
        return this;
    }

    /// <summary>Files the command reads (e.g. the four IDX files of a dataset folder); missing ones are skipped.</summary>
    public OutputPlan Inputs(string role, IEnumerable<string> paths)
    {
        foreach (var p in paths) if (File.Exists(p)) Input(role, p);
        return this;
    }

    /// <summary>A file the command writes.</summary>
    public OutputPlan Output(string role, string path)
    {
        outputs.Add((role, Path.GetFullPath(path)));
        return this;
    }

    /// <summary>Throws a <see cref="CliException"/> (usage or I/O) naming the first problem; returns when every output may be written.</summary>
    public void Validate(bool force)
    {
        foreach (var (role, path) in outputs)
            if (Directory.Exists(path))
                throw new CliException(ExitCodes.Usage, $"{role} '{path}' is a folder; give a file path.");

        var inputKeys = inputs.Select(i => (i.Role, i.Path, Key: FileIdentity.Key(i.Path))).ToList();
        var outputKeys = outputs.Select(o => (o.Role, o.Path, Key: FileIdentity.Key(o.Path))).ToList();
        foreach (var output in outputKeys)
        {
            var input = inputKeys.FirstOrDefault(i => i.Key == output.Key);
            if (input.Path is not null)
            {
                var how = input.Path == output.Path ? "" : $" ('{input.Path}', through a link)";
                throw new CliException(ExitCodes.Usage,
                    $"{output.Role} '{output.Path}' is the {input.Role}{how}: writing it would destroy the input. Choose another output path.");
            }
        }
        for (int i = 0; i < outputKeys.Count; i++)
            for (int j = i + 1; j < outputKeys.Count; j++)
                if (outputKeys[i].Key == outputKeys[j].Key)
                    throw new CliException(ExitCodes.Usage,
                        $"{outputKeys[i].Role} and {outputKeys[j].Role} would both be '{outputKeys[i].Path}'" +
                        (outputKeys[i].Path == outputKeys[j].Path ? "" : $" (also reached as '{outputKeys[j].Path}')") +
                        "; the second would overwrite the first. Choose different paths.");

        if (!force)
            foreach (var (role, path) in outputs)
                if (File.Exists(path) || new FileInfo(path).LinkTarget is not null)
                    throw new CliException(ExitCodes.Usage, $"{role} '{path}' already exists; pass --force to replace it, or choose another path.");

        var probed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (role, path) in outputs)
        {
            var folder = NearestExistingFolder(role, path);
            if (probed.Add(folder)) Probe(role, path, folder);
        }
    }

    private static string NearestExistingFolder(string role, string path)
    {
        var dir = Path.GetDirectoryName(path);
        while (dir is not null && !Directory.Exists(dir))
        {
            if (File.Exists(dir))
                throw new CliException(ExitCodes.Io, $"Cannot write {role} '{path}': '{dir}' is a file, not a folder.");
            dir = Path.GetDirectoryName(dir);
        }
        return dir ?? throw new CliException(ExitCodes.Io, $"Cannot write {role} '{path}': no part of its folder exists.");
    }

    // Creating (and at once deleting) a file is the only reliable test of "can write here": permissions, ACLs, read-only
    // mounts and quotas all answer it.
    private static void Probe(string role, string path, string folder)
    {
        var probe = Path.Combine(folder, $".dq-write-probe.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Io, $"Cannot write {role} '{path}': the folder '{folder}' does not accept new files ({e.Message}).", e);
        }
    }
}
