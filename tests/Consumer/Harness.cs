// Compiled into the throw-away consumer app that tests/Consumer/run.sh creates outside the repository, next to a
// Program.cs made of the README's two snippets (verbatim). The app has three modes:
//   (no arguments)                   the snippets: fit, save dq4.zip, robustness report (its options passed through
//                                    Tiny: a tiny attack budget); then AfterSnippets checks what they produced
//   gen <folder>                     writes a small image folder: <folder>/train and <folder>/test, one sub-folder per class
//   predict <zip> <expected.tsv>     a second process: loads the zip with plain ml.Model.Load (and typed, which needs
//                                    TorchSharp's native library) and must reproduce the first process's predictions
// Every check throws with a message naming what differed; the script turns a non-zero exit into a failed test.
using System.Globalization;
using DqMlNet.Evaluators;
using DqMlNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

internal static class ConsumerHarness
{
    private static readonly string[] Classes = { "across", "down", "frame" };

    public static int Run(string[] args)
    {
        switch (args[0])
        {
            case "gen" when args.Length == 2:
                Generate(args[1]);
                return 0;
            case "predict" when args.Length == 3:
                Predict(args[1], args[2]);
                return 0;
            default:
                Console.Error.WriteLine("usage: app | app gen <folder> | app predict <model.zip> <expected.tsv>");
                return 2;
        }
    }

    /// <summary>Checks what the snippets produced and writes the predictions the second process must reproduce.</summary>
    public static int AfterSnippets(MLContext ml, ITransformer model, IDataView testView, RobustnessMetrics metrics)
    {
        Require(File.Exists("dq4.zip"), "the pipeline snippet did not write dq4.zip");
        Require(File.Exists("artifacts/dq4.robustness.json") && File.Exists("artifacts/dq4.robustness.md"),
            "the robustness snippet did not write artifacts/dq4.robustness.json and .md");

        var scored = model.Transform(testView);
        var paths = testView.GetColumn<string>("ImagePath").ToList();
        var truth = testView.GetColumn<string>("Label").ToList(); // the pipeline turns Label into a key: read the input
        var labels = scored.GetColumn<string>("PredictedLabel").ToList();
        var scores = scored.GetColumn<float[]>("Score").ToList();
        Require(paths.Count == Classes.Length * TestPerClass, $"expected {Classes.Length * TestPerClass} test rows, got {paths.Count}");
        foreach (var s in scores)
        {
            Require(s.Length == Classes.Length, $"a score vector has {s.Length} entries, expected {Classes.Length}");
            Require(Math.Abs(s.Sum() - 1) < 1e-3, $"scores sum to {s.Sum()}, not 1");
        }
        Require(labels.All(l => Classes.Contains(l)), "a predicted label is not one of the class folders");

        // The clean accuracy the evaluator reports must be the one of the model's own predictions.
        double accuracy = labels.Zip(truth).Count(p => p.First == p.Second) / (double)labels.Count;
        Require(Math.Abs(metrics.Clean.MicroAccuracy - accuracy) < 1e-9,
            $"EvaluateRobustness reports clean accuracy {metrics.Clean.MicroAccuracy}, the predictions give {accuracy}");
        foreach (var eps in new[] { 0.05, 0.1 })
        {
            var worst = metrics.WorstCaseAccuracy(eps);
            Require(worst is not null, $"no worst case at ε = {eps}");
            Require(worst >= 0 && worst <= accuracy + 1e-9, $"worst case {worst} at ε = {eps} is not within [0, clean accuracy {accuracy}]");
        }

        File.WriteAllLines("expected.tsv", paths.Select((p, i) =>
            p + "\t" + labels[i] + "\t" + string.Join(",", scores[i].Select(v => v.ToString("R", CultureInfo.InvariantCulture)))));
        Console.WriteLine($"consumer: {labels.Count} test images, clean accuracy {accuracy:P1}, worst case at ε = 0.1 {metrics.WorstCaseAccuracy(0.1):P1}");
        return 0;
    }

    /// <summary>
    /// The robustness snippet's options with a tiny attack budget (the script wraps the snippet's
    /// <c>new RobustnessOptions { … }</c> in this call): the same suite and ε, 2 gradient steps (10 for APGD) and 20
    /// Square queries instead of the published budgets, so the test checks that the code runs, not how strong it is.
    /// </summary>
    public static RobustnessOptions Tiny(RobustnessOptions options) => options with
    {
        Attacks = options.Attacks.Select(Shrink).ToList(),
        MaskingSubset = Math.Min(options.MaskingSubset, 4),
    };

    private static AttackEntry Shrink(AttackEntry entry)
    {
        // Entry names carry their step count ("PGD-20-proxy"); the base name rebuilds the attack with a small budget.
        var baseName = System.Text.RegularExpressions.Regex.Replace(entry.Name, @"-\d+", "");
        try
        {
            var small = AttackEntry.Named(baseName, steps: 2, squareQueries: 20);
            return small with { SmoothProxy = entry.SmoothProxy };
        }
        catch (ArgumentException)
        {
            return entry; // an attack this harness does not know keeps its own budget
        }
    }

    private const int TrainPerClass = 8;
    private const int TestPerClass = 3;

    /// <summary>28×28 RGB PNGs of three easy patterns with seeded noise, so the folder is the same on every run.</summary>
    private static void Generate(string folder)
    {
        var random = new Random(7);
        foreach (var (split, count) in new[] { ("train", TrainPerClass), ("test", TestPerClass) })
            for (int c = 0; c < Classes.Length; c++)
            {
                var dir = Directory.CreateDirectory(Path.Combine(folder, split, Classes[c])).FullName;
                for (int n = 0; n < count; n++)
                {
                    var rgba = new byte[28 * 28 * 4];
                    for (int y = 0; y < 28; y++)
                        for (int x = 0; x < 28; x++)
                        {
                            bool on = c switch
                            {
                                0 => y % 6 < 3,                                 // horizontal bars
                                1 => x % 6 < 3,                                 // vertical bars
                                _ => x < 4 || y < 4 || x > 23 || y > 23,        // a frame
                            };
                            byte v = (byte)Math.Clamp((on ? 200 : 40) + random.Next(-30, 31), 0, 255);
                            int p = 4 * (y * 28 + x);
                            rgba[p] = v; rgba[p + 1] = v; rgba[p + 2] = v; rgba[p + 3] = 255;
                        }
                    using var image = MLImage.CreateFromPixels(28, 28, MLPixelFormat.Rgba32, rgba);
                    image.Save(Path.Combine(dir, $"{n:D3}.png"));
                }
            }
    }

    private static void Predict(string zip, string expectedFile)
    {
        var expected = File.ReadAllLines(expectedFile).Select(l => l.Split('\t')).ToList();
        var rows = expected.Select(e => new ImageRow { ImagePath = e[0], Label = "" }).ToList();
        var ml = new MLContext(seed: 0);

        // Plain ML.NET load, as any process would: no DqMlNet type is needed to score the zip.
        var plain = ml.Model.Load(zip, out _);
        var scored = plain.Transform(ml.Data.LoadFromEnumerable(rows));
        var labels = scored.GetColumn<string[]>("PredictedLabel").Select(l => l[0]).ToList();
        var scores = scored.GetColumn<float[]>("Score").ToList();
        Compare("ml.Model.Load", expected, labels, scores);
        var engine = ml.Model.CreatePredictionEngine<ImageRow, PlainPrediction>(plain);
        Require(engine.Predict(rows[0]).PredictedLabel[0] == expected[0][1], "PredictionEngine on the loaded zip disagrees on the first image");

        // Typed load: the DQ stage comes back as TorchSharp model, so TorchSharp's native library must load here too.
        var typed = DqModelFile.Load(ml, zip, out _);
        var retyped = typed.Transform(ml.Data.LoadFromEnumerable(rows));
        Compare("DqModelFile.Load", expected, retyped.GetColumn<string>("PredictedLabel").ToList(), retyped.GetColumn<float[]>("Score").ToList());
        Console.WriteLine($"consumer: second process reproduced {rows.Count} predictions (plain and typed load)");
    }

    private static void Compare(string how, List<string[]> expected, List<string> labels, List<float[]> scores)
    {
        Require(labels.Count == expected.Count, $"{how}: {labels.Count} predictions for {expected.Count} images");
        for (int i = 0; i < expected.Count; i++)
        {
            Require(labels[i] == expected[i][1], $"{how}: image {expected[i][0]} predicted '{labels[i]}', the first process said '{expected[i][1]}'");
            var want = expected[i][2].Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            Require(want.Length == scores[i].Length, $"{how}: {scores[i].Length} scores, expected {want.Length}");
            for (int k = 0; k < want.Length; k++)
                Require(Math.Abs(want[k] - scores[i][k]) < 1e-4, $"{how}: image {expected[i][0]} score {k} is {scores[i][k]}, the first process had {want[k]}");
        }
    }

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new InvalidOperationException("consumer check failed: " + message);
    }

    private sealed class ImageRow
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }

    private sealed class PlainPrediction
    {
        public string[] PredictedLabel { get; set; } = Array.Empty<string>();
    }
}
