using Microsoft.ML;

namespace DqMlNet.Transforms.Tests;

/// <summary>
/// Model files found by the fuzzer (bench/Fuzz, docs/reliability.md) that once ended in an untyped exception, kept as
/// files under tests/fixtures/fuzz. Each must now be refused with an <see cref="InvalidDataException"/> naming the file.
/// </summary>
public sealed class FuzzRegressionTests
{
    private static string Input(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "fuzz", name);

    [Theory]
    // ML.NET's MapValueToKey stage damaged: was InvalidOperationException("Error during class instantiation") from ML.NET.
    [InlineData("zip-damaged-term-map.zip", "cannot load the rest of the model")]
    // The schema entry damaged: ML.NET returned no input schema, then ArgumentNullException('inputSchema').
    [InlineData("zip-unreadable-schema.zip", "input schema")]
    // A damaged entry inside ML.NET's part: was TargetInvocationException around ML.NET's InvalidDataException.
    [InlineData("zip-corrupt-local-header.zip", "cannot load the rest of the model")]
    // The saved schema lost the stage's input column: was ArgumentException from the stage's schema check.
    [InlineData("zip-schema-without-features.zip", "does not accept the saved input schema")]
    // A stage's loader assembly name damaged: was FileNotFoundException for the assembly from ML.NET.
    [InlineData("zip-damaged-loader-assembly-name.zip", "cannot load the rest of the model")]
    // A DQ stage ONNX Runtime cannot describe: was NullReferenceException from its model-metadata code.
    [InlineData("zip-onnx-runtime-null-metadata.zip", "ONNX Runtime cannot open")]
    // The schema's table of contents damaged: was NotSupportedException from ML.NET's binary loader.
    [InlineData("zip-damaged-schema-toc.zip", "cannot load the rest of the model")]
    public void Damaged_model_zip_is_an_InvalidDataException_naming_the_file(string name, string problem)
    {
        var path = Input(name);
        var e = Assert.Throws<InvalidDataException>(() => DqModelFile.Load(new MLContext(seed: 0), path, out _));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
    }
}
