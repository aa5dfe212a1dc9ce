using System.IO.Compression;
using DqMlNet.Data;
using DqMlNet.Models;
using DqMlNet.Transforms.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace DqMlNet.Transforms.Tests;

/// <summary>
/// <see cref="DqModelFile.Load"/> on a real ML.NET zip: the DQ stage is checked (bounded read, spec, initializers) before
/// ML.NET parses the zip, a genuine file still loads and scores as saved, and an edited stage is a typed error.
/// </summary>
public sealed class ModelZipLoadTests : IDisposable
{
    private readonly string dir = TestData.TempDirectory();

    public void Dispose()
    {
        ModelFileLimits.Reset();
        Directory.Delete(dir, recursive: true);
    }

    private sealed class Row
    {
        [VectorType(1, 28, 28)]
        public float[] Features { get; set; } = Array.Empty<float>();
    }

    private (string Zip, IDataView Data, uint[] Labels) SaveStage(MLContext ml)
    {
        manual_seed(7);
        var model = ModelFactory.Create(TestData.Spec(Architecture.SmallCnn, TrainingMode.Vanilla));
        var stage = new DefensiveQuantizationTransformer(MlNetHost.Of(ml), model, DqLabelInfo.FromClassNames(FashionMnist.ClassNames), new DqColumns());
        using var test = TestData.Load(DatasetSplit.Test, limit: 8);
        var rows = Enumerable.Range(0, test.Count).Select(i => new Row { Features = test.Images[i].flatten().data<float>().ToArray() }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var labels = stage.Transform(data).GetColumn<uint>("PredictedLabel").ToArray();
        var zip = Path.Combine(dir, "stage.zip");
        ml.Model.Save(stage, data.Schema, zip);
        return (zip, data, labels);
    }

    [Fact]
    public void Genuine_zip_loads_and_scores_as_saved()
    {
        var ml = new MLContext(1);
        var (zip, data, labels) = SaveStage(ml);
        var loaded = DqModelFile.Load(ml, zip, out _);
        var restored = Assert.IsType<DefensiveQuantizationTransformer>(loaded);
        Assert.Equal(TrainingMode.Vanilla, restored.Model.Spec.Mode);
        Assert.Equal(labels, loaded.Transform(data).GetColumn<uint>("PredictedLabel").ToArray());
    }

    [Fact]
    public void Zip_whose_stage_spec_was_edited_is_refused_before_ml_net_reads_it()
    {
        var ml = new MLContext(1);
        var (zip, _, _) = SaveStage(ml);
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Update))
        {
            var entry = archive.Entries.Single(e => e.FullName.EndsWith("/OnnxModel", StringComparison.Ordinal));
            byte[] bytes;
            using (var s = entry.Open())
            using (var ms = new MemoryStream())
            {
                s.CopyTo(ms);
                bytes = ms.ToArray();
            }
            var proto = OnnxModelLoader.ReadModel(bytes.AsSpan(4).ToArray());
            var spec = OnnxModelLoader.ReadSpec(proto) with { Architecture = Architecture.Vgg, Depth = 19, WidthFactor = 3 };
            proto.MetadataProps.Single(p => p.Key == OnnxMetadataKeys.ModelSpec).Value = spec.ToJson();
            var edited = Google.Protobuf.MessageExtensions.ToByteArray(proto);
            entry.Delete();
            using var w = archive.CreateEntry(entry.FullName).Open();
            w.Write(BitConverter.GetBytes(edited.Length));
            w.Write(edited);
        }
        var ex = Assert.Throws<InvalidDataException>(() => DqModelFile.Load(ml, zip, out _));
        Assert.Contains(zip, ex.Message);
        Assert.Contains("describes a Vgg with 180,171,456 conv/linear weights", ex.Message);
    }
}
