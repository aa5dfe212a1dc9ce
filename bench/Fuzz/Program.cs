using DqMlNet.Data;
using DqMlNet.Fuzz;
using DqMlNet.Transforms.Onnx;

// Usage:
//   DqMlNet.Fuzz list                     the targets
//   DqMlNet.Fuzz seeds <repo-root> <dir>  writes the seed corpora (<dir>/<target>/...)
//   DqMlNet.Fuzz <target>                 under afl-fuzz: the fork server; otherwise one run of stdin
//   DqMlNet.Fuzz <target> <file>...       runs files once each and prints the outcome (reproducing a finding)
// Limits are lowered so that a reader that honours them stays far below the 512 MB heap the fuzzer gives it: a crash
// is then a reader that allocates past its limits, not a legitimately large input.
// Nothing instrumented may run before the fork server starts, so the limits are set on the first input.
bool configured = false;
void Configure()
{
    if (configured) return;
    configured = true;
    Coverage.EnsureMap();
    DataLimits.MaxDatasetBytes = 64L << 20;
    DataLimits.MaxArchiveEntryBytes = 64L << 20;
    ModelFileLimits.MaxModelBytes = 64L << 20;
}

if (args.Length == 0 || args[0] == "list")
{
    foreach (var t in Targets.All) Console.WriteLine($"{t.Name,-11} {t.Description}");
    return 0;
}
if (args[0] == "seeds")
{
    Configure();
    Seeds.Write(args[1], args[2]);
    return 0;
}

var target = Targets.All.SingleOrDefault(t => t.Name == args[0]);
if (target is null)
{
    Console.Error.WriteLine($"Unknown target '{args[0]}'. Targets: {string.Join(", ", Targets.All.Select(t => t.Name))}.");
    return 2;
}

void RunOne(byte[] input)
{
    Configure();
    try { target.Run(input); }
    catch (Exception e) when (target.IsExpected(e)) { }
}

if (args.Length > 1)
{
    int failures = 0;
    Configure();
    foreach (var file in args.Skip(1))
    {
        try
        {
            target.Run(File.ReadAllBytes(file));
            Console.WriteLine($"{file}: accepted");
        }
        catch (Exception e) when (target.IsExpected(e))
        {
            Console.WriteLine($"{file}: refused ({e.GetType().Name}: {e.Message})");
        }
        catch (Exception e)
        {
            failures++;
            Console.WriteLine($"{file}: FINDING {e}");
        }
    }
    return failures == 0 ? 0 : 1;
}

SharpFuzz.Fuzzer.Run(stream =>
{
    using var ms = new MemoryStream();
    stream.CopyTo(ms);
    RunOne(ms.ToArray());
});
return 0;
