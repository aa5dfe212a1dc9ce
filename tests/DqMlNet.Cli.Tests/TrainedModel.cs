using DqMlNet.Cli;

namespace DqMlNet.Tests;

/// <summary>
/// One tiny DQ-4 model trained through <c>dq train</c> on the committed fixture (128 images, 1 epoch: seconds), with its
/// ONNX export and training side file, shared by the tests of a class. Tests copy the files they change.
/// </summary>
public sealed class TrainedModel : IDisposable
{
    public TrainedModel()
    {
        Directory = TestData.TempDirectory();
        Zip = Path.Combine(Directory, "m.zip");
        var (code, _, error) = Cli.Run("train", "--data", TestData.FixtureDirectory, "--train-limit", "128", "--test-limit", "64", "--epochs", "1",
            "--batch-size", "64", "--threads", $"{TestData.Threads}", "--seed", "1", "-o", Zip, "--onnx", Path.Combine(Directory, "m.onnx"));
        Assert.True(code == ExitCodes.Ok, error);
    }

    public string Directory { get; }

    public string Zip { get; }

    public string Onnx => Path.Combine(Directory, "m.onnx");

    public string TrainingSideFile => Path.Combine(Directory, "m.training.json");

    /// <summary>Copies the model zip (and its training side file) into <paramref name="dir"/>; returns the zip path.</summary>
    public string CopyTo(string dir, string name = "m.zip")
    {
        var zip = Path.Combine(dir, name);
        File.Copy(Zip, zip);
        File.Copy(TrainingSideFile, Path.ChangeExtension(zip, ".training.json"));
        return zip;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, true);
}

/// <summary>Runs <c>dq</c> in-process and captures its output.</summary>
internal static class Cli
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = DqCommand.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
