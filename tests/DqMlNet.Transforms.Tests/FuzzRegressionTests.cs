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
    public void Damaged_model_zip_is_an_InvalidDataException_naming_the_file(string name, string problem)
    {
        var path = Input(name);
        var e = Assert.Throws<InvalidDataException>(() => DqModelFile.Load(new MLContext(seed: 0), path, out _));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
    }
}
