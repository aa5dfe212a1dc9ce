using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using DqMlNet.Evaluators;
using Spectre.Console;

namespace DqMlNet.Cli;

/// <summary>The <c>dq</c> command tree (System.CommandLine) and its in-process entry point.</summary>
internal static class DqCommand
{
    /// <summary>Exit code of a failed command (bad input file, invalid data); parse errors also give 1.</summary>
    public const int Failure = 1;

    /// <summary>Parses and runs <paramref name="args"/>; output and errors go to the given writers (console by default).</summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var console = output == Console.Out
            ? AnsiConsole.Console
            : AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No });
        var root = Build(console, error);
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    /// <summary>The root command with train, evaluate, export and report.</summary>
    public static RootCommand Build(IAnsiConsole console, TextWriter error)
    {
        var root = new RootCommand("dq — train, evaluate, export and report defensively quantized (DqMlNet) models.");
        root.Add(TrainCommand.Create(console, error));
        root.Add(EvaluateCommand.Create(console, error));
        root.Add(ExportCommand.Create(console, error));
        root.Add(ReportCommand.Create(console, error));
        return root;
    }

    /// <summary>Runs a command body, turning expected failures into a one-line error and exit code 1.</summary>
    public static int Guard(TextWriter error, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or ArgumentException or InvalidDataException
                                       or InvalidOperationException or NotSupportedException or IOException or UnauthorizedAccessException
                                       or System.Text.Json.JsonException or FormatException)
        {
            error.WriteLine($"error: {ex.Message}");
            return Failure;
        }
        catch (Exception ex) when (Environment.GetEnvironmentVariable("DQ_DEBUG") is null)
        {
            error.WriteLine($"error: unexpected {ex.GetType().Name}: {ex.Message} (set DQ_DEBUG=1 for the stack trace)");
            return Failure;
        }
    }

    /// <summary>An existing file argument.</summary>
    public static Argument<FileInfo> ExistingFile(string name, string description)
    {
        var argument = new Argument<FileInfo>(name) { Description = description };
        argument.Validators.Add(result =>
        {
            var file = result.GetValueOrDefault<FileInfo>();
            if (file is not null && !file.Exists) result.AddError($"File '{file.FullName}' does not exist.");
        });
        return argument;
    }

    /// <summary>--data: an IDX folder (train/t10k-*-idx?-ubyte.gz); default: the Fashion-MNIST cache.</summary>
    public static Option<DirectoryInfo?> DataOption()
    {
        var option = new Option<DirectoryInfo?>("--data")
        {
            Description = "Folder with the four Fashion-MNIST IDX files (train-images-idx3-ubyte.gz, …). Default: the DqMlNet cache (downloaded if missing).",
        };
        option.Validators.Add(result =>
        {
            var dir = result.GetValueOrDefault<DirectoryInfo?>();
            if (dir is not null && !dir.Exists) result.AddError($"Data folder '{dir.FullName}' does not exist.");
        });
        return option;
    }

    /// <summary>A positive integer option.</summary>
    public static Option<int?> PositiveInt(string name, string description, int? defaultValue = null)
    {
        var option = new Option<int?>(name) { Description = description };
        if (defaultValue is int d) option.DefaultValueFactory = _ => d;
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is int v && v < 1) result.AddError($"{name} must be a positive integer (got {v}).");
        });
        return option;
    }

    /// <summary>--eps: a comma- or space-separated list of ε in (0, 1].</summary>
    public static Option<double[]> EpsilonsOption()
    {
        return new Option<double[]>("--eps")
        {
            Description = "L∞ budgets ε (pixels in [0, 1]), comma-separated, e.g. 0.05,0.1.",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => new[] { 0.05, 0.1 },
            CustomParser = result =>
            {
                var values = new List<double>();
                foreach (var part in result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
                {
                    if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var e) || !(e > 0 && e <= 1))
                    {
                        result.AddError($"Invalid ε '{part}': each ε must be a number in (0, 1], e.g. --eps 0.05,0.1.");
                        return Array.Empty<double>();
                    }
                    values.Add(e);
                }
                if (values.Count == 0) result.AddError("--eps needs at least one value, e.g. --eps 0.05,0.1.");
                return values.ToArray();
            },
        };
    }

    /// <summary>--attacks: a comma-separated list of attack names known to <see cref="AttackEntry.Named"/>.</summary>
    public static Option<string[]?> AttacksOption()
    {
        return new Option<string[]?>("--attacks")
        {
            Description = "Attacks, comma-separated: FGSM, R+FGSM, BIM, PGD, PGD-L2, PGD-proxy, MI-FGSM, APGD-CE, APGD-T, FAB-T, Square, Noise. " +
                          "Default: the light suite (APGD-CE, APGD-T, Square, PGD-proxy) for a model zip; Square,Noise for an ONNX file (a black box).",
            AllowMultipleArgumentsPerToken = true,
            CustomParser = result =>
            {
                var names = result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
                foreach (var name in names)
                {
                    try { AttackEntry.Named(name); }
                    catch (ArgumentException ex) { result.AddError(ex.Message.Split(" (Parameter")[0]); }
                }
                return names;
            },
        };
    }
}
