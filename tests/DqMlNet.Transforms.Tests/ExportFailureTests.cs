using DqMlNet.Models;
using DqMlNet.Transforms.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace DqMlNet.Transforms.Tests;

/// <summary>(e) Export failures are clear and leave nothing behind.</summary>
public sealed class ExportFailureTests : IDisposable
{
    private readonly string dir = TestData.TempDirectory();

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>A model with a layer the exporter does not know.</summary>
    private sealed class OddModel : DqModel
    {
        private readonly LayerStack stack;

        public OddModel(ModelSpec spec) : base(nameof(OddModel), spec)
        {
            stack = new LayerStack(new (string, nn.Module<Tensor, Tensor>)[]
            {
                ("normalize", NewNormalization()),
                ("flatten", nn.Flatten()),
                ("squash", nn.Tanh()),
                ("fc", NewLinear(784, spec.NumClasses)),
            });
            RegisterComponents();
        }

        public override IReadOnlyList<LayerStack> Stages => new[] { stack };

        public override Tensor forward(Tensor input) => stack.forward(input);
    }

    [Fact]
    public void Unknown_layer_names_the_layer_and_writes_nothing()
    {
        using var model = new OddModel(TestData.Spec(Architecture.SmallCnn, TrainingMode.Vanilla));
        var path = Path.Combine(dir, "odd.onnx");
        var e = Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(model, path));
        Assert.Contains("'s0.squash'", e.Message);
        Assert.Contains("Tanh", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));

        // An existing file is left untouched.
        File.WriteAllText(path, "previous");
        Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(model, path));
        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Single(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void Bad_paths_fail_clearly_and_leave_no_temp_file()
    {
        manual_seed(0);
        using var model = ModelFactory.Create(TestData.Spec(Architecture.SmallCnn, TrainingMode.FullPrecision));

        var e1 = Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, dir));
        Assert.Contains("is a directory", e1.Message);
        Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, "bad\0name.onnx"));
        Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, " "));

        var blocker = Path.Combine(dir, "not-a-folder");
        File.WriteAllText(blocker, "x");
        var e2 = Assert.Throws<IOException>(() => OnnxExporter.Export(model, Path.Combine(blocker, "model.onnx")));
        Assert.Contains("Could not write the ONNX file", e2.Message);
        Assert.Equal(new[] { blocker }, Directory.EnumerateFileSystemEntries(dir));

        var good = Path.Combine(dir, "sub", "model.onnx");
        OnnxExporter.Export(model, good);
        Assert.Equal(new[] { good }, Directory.EnumerateFiles(Path.Combine(dir, "sub")));
    }
}
