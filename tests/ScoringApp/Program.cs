// A separate process for the save/load test: loads an ML.NET model zip with plain mlContext.Model.Load (no DqMlNet
// code referenced) and scores image files listed in a text file, printing "label<TAB>score0,score1,..." per image.
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: ScoringApp <model.zip> <images.txt>");
    return 2;
}
var ml = new MLContext(seed: 0);
var model = ml.Model.Load(args[0], out var schema);
var rows = File.ReadAllLines(args[1]).Select(p => new ImageRow { ImagePath = p, Label = "" }).ToList();
var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
var scores = scored.GetColumn<float[]>("Score").ToList();
var labels = scored.GetColumn<string[]>("PredictedLabel").ToList();
for (int i = 0; i < rows.Count; i++)
    Console.WriteLine(labels[i][0] + "\t" + string.Join(",", scores[i].Select(s => s.ToString("R", CultureInfo.InvariantCulture))));

// PredictionEngine on the loaded model, for single images.
var engine = ml.Model.CreatePredictionEngine<ImageRow, Prediction>(model);
var single = engine.Predict(rows[0]);
Console.WriteLine("single\t" + single.PredictedLabel[0]);
return 0;

internal sealed class ImageRow
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}

internal sealed class Prediction
{
    public float[] Score { get; set; } = Array.Empty<float>();
    public string[] PredictedLabel { get; set; } = Array.Empty<string>();
}
