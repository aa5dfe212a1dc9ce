using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using DqMlNet.Evaluators;
using Spectre.Console;

namespace DqMlNet.Cli;

/// <summary>The <c>dq</c> command tree (System.CommandLine) and its in-process entry point.</summary>
internal static class DqCommand
{
    /// <summary>Parses and runs <paramref name="args"/>; output and errors go to the given writers (console by default). Returns one of <see cref="ExitCodes"/>.</summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var console = output == Console.Out
            ? AnsiConsole.Console
            : AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No });
        var root = Build(console, error);
        var parse = root.Parse(args);
        int code = parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        // System.CommandLine prints parse errors and answers 1; dq documents 2 for every command-line mistake.
        return parse.Errors.Count > 0 ? ExitCodes.Usage : code;
    }

    /// <summary>The root command with train, evaluate, export and report.</summary>
    public static RootCommand Build(IAnsiConsole console, TextWriter error)
    {
        var root = new RootCommand("dq — train, evaluate, export and report defensively quantized (DqMlNet) models.\n\n" +
                                   "Outputs are checked before any work: an output may not be an input or another output, and an existing " +
                                   "output is replaced only with --force.\n" + ExitCodes.Help);
        root.Add(TrainCommand.Create(console, error));
        root.Add(EvaluateCommand.Create(console, error));
        root.Add(ExportCommand.Create(console, error));
        root.Add(ReportCommand.Create(console, error));
        return root;
    }

    /// <summary>Runs a command body, turning every failure into one <c>error:</c> line and its exit code (<see cref="ExitCodes.For"/>).</summary>
    public static int Guard(TextWriter error, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception ex)
        {
            int code = ExitCodes.For(ex);
            if (code != ExitCodes.Internal)
                error.WriteLine($"error: {ex.Message}");
            else if (Environment.GetEnvironmentVariable("DQ_DEBUG") is null)
                error.WriteLine($"error: unexpected {ex.GetType().Name}: {ex.Message} (an internal error; set DQ_DEBUG=1 for the stack trace)");
            else
                error.WriteLine($"error: {ex}");
            return code;
        }
    }

    /// <summary>A file argument; its existence is checked by <see cref="RequireFile"/> when the command runs (exit code 3, not a usage error).</summary>
    public static Argument<FileInfo> InputFile(string name, string description) => new(name) { Description = description };

    /// <summary>Throws <see cref="FileNotFoundException"/> (exit code 3) when <paramref name="file"/> does not exist.</summary>
    public static FileInfo RequireFile(FileInfo file)
    {
        if (Directory.Exists(file.FullName)) throw new CliException(ExitCodes.Usage, $"'{file.FullName}' is a folder; give a file.");
        if (!File.Exists(file.FullName)) throw new FileNotFoundException($"File '{file.FullName}' does not exist.", file.FullName);
        return file;
    }

    /// <summary>--force: replace existing output files.</summary>
    public static Option<bool> ForceOption() => new("--force", "-f")
    {
        Description = "Replace output files that already exist (never an input: an output that is an input is always refused).",
    };

    /// <summary>--data: an IDX folder (train/t10k-*-idx?-ubyte.gz); default: the Fashion-MNIST cache.</summary>
    public static Option<DirectoryInfo?> DataOption()
    {
        var option = new Option<DirectoryInfo?>("--data")
        {
            Description = "Folder with the four Fashion-MNIST IDX files (train-images-idx3-ubyte.gz, …). Default: the DqMlNet cache (downloaded if missing).",
        };
        return option; // existence is checked when the command runs (CliData.RequireData: exit code 3)
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
                          "Default: the light suite (APGD-CE, APGD-T, Square, PGD-proxy) for a model zip or a DqMlNet ONNX export; " +
                          "Square,Noise for any other ONNX file (score-only: gradient attacks are refused).",
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
