namespace DqMlNet.Data;

/// <summary>Where datasets are cached: <c>$DQMLNET_DATA</c>, else <c>$XDG_CACHE_HOME/dqmlnet</c>, else <c>~/.cache/dqmlnet</c>.</summary>
public static class DataCache
{
    /// <summary>The default cache root.</summary>
    public static string DefaultDirectory
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("DQMLNET_DATA");
            if (!string.IsNullOrWhiteSpace(env)) return env;
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var root = !string.IsNullOrWhiteSpace(xdg)
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "dqmlnet");
        }
    }
}
