using System.Text.Json;

namespace DqMlNet.Cli;

/// <summary>
/// The exit codes of <c>dq</c> (listed in <c>dq --help</c> and docs/apps.md) and the one place that maps a failure to
/// its code. Scripts can tell a mistake in the command line (fix the command) from a missing input, an invalid input, a
/// failed write, and a bug.
/// </summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The command line is wrong: parse errors, invalid option values, an output that is an input or another output, an existing output without --force.</summary>
    public const int Usage = 2;

    /// <summary>An input file or folder is missing or cannot be obtained (e.g. the dataset cache cannot be filled).</summary>
    public const int Input = 3;

    /// <summary>An input's content is invalid: corrupt model zip or ONNX file, bad dataset file, bad report JSON, a model that does not fit the data; or training diverged.</summary>
    public const int Data = 4;

    /// <summary>Reading or writing failed: an output folder that cannot be written, disk full, permissions, an output that appeared meanwhile.</summary>
    public const int Io = 5;

    /// <summary>An unexpected error (a bug): please report it with the output of <c>DQ_DEBUG=1 dq …</c>.</summary>
    public const int Internal = 70;

    /// <summary>One line per code, for <c>dq --help</c>.</summary>
    public const string Help =
        "Exit codes: 0 success; 2 usage (bad command line, an output that is an input or another output, an existing " +
        "output without --force); 3 input missing; 4 invalid data (corrupt model, dataset or report; training diverged); " +
        "5 I/O (an output cannot be written); 70 internal error.";

    /// <summary>The exit code of a failure.</summary>
    public static int For(Exception exception) => exception switch
    {
        CliException cli => cli.ExitCode,
        FileNotFoundException or DirectoryNotFoundException => Input,
        InvalidDataException or JsonException or FormatException or NotSupportedException or InvalidOperationException => Data,
        ArgumentException => Usage, // option values the parser could not judge (e.g. attack settings)
        IOException or UnauthorizedAccessException => Io,
        _ => Internal,
    };
}

/// <summary>A failure with a message for the user and the exit code it ends with.</summary>
internal sealed class CliException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>One of <see cref="ExitCodes"/>.</summary>
    public int ExitCode { get; } = exitCode;
}
