using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using DqMlNet.Lipschitz;
using DqMlNet.Models;
using DqMlNet.Quantization;
using DqMlNet.Runtime;
using static TorchSharp.torch;

namespace DqMlNet.Bench;

/// <summary>Optional BenchmarkDotNet micro-benchmarks (--bdn): the activation quantizer and the Lipschitz regulariser.</summary>
internal static class Micro
{
    public static int Run(Settings s)
    {
        var config = ManualConfig.CreateMinimumViable()
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            .WithArtifactsPath(Path.Combine(s.OutDir, "bdn"));
        BenchmarkRunner.Run<QuantizerAndRegularizer>(config);
        return 0;
    }
}

/// <summary>Micro-benchmarks on SmallCnn-sized tensors (threads as set by the runner's --threads, default 2).</summary>
[MemoryDiagnoser]
public class QuantizerAndRegularizer
{
    private Tensor activations = null!;
    private Tensor grad = null!;
    private DqModel model = null!;
    private LipschitzRegularizer regularizer = null!;

    /// <summary>Builds the inputs: conv1's activation map at batch 128 and a DQ SmallCnn.</summary>
    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.SetThreads(2);
        TorchRuntime.Seed(1);
        activations = randn(128, 32, 28, 28).mul(3);
        grad = ones_like(activations);
        model = ModelFactory.Create(BenchModel.SmallCnn28.In(TrainingMode.Defensive));
        regularizer = new LipschitzRegularizer(2e-3);
    }

    /// <summary>k=4 quantizer, no gradient.</summary>
    [Benchmark]
    public float QuantizeForward()
    {
        using var scope = NewDisposeScope();
        return ActivationQuantizer.Quantize(activations, 4).sum().item<float>();
    }

    /// <summary>STE quantizer forward + backward through the custom autograd node.</summary>
    [Benchmark]
    public float QuantizeSteForwardBackward()
    {
        using var scope = NewDisposeScope();
        var x = activations.detach().requires_grad_(true);
        var y = ActivationQuantizer.QuantizeSte(x, 4);
        y.backward(new List<Tensor> { grad });
        return x.grad!.sum().item<float>();
    }

    /// <summary>ReLU forward + backward, the FP baseline of the STE.</summary>
    [Benchmark(Baseline = true)]
    public float ReluForwardBackward()
    {
        using var scope = NewDisposeScope();
        var x = activations.detach().requires_grad_(true);
        var y = nn.functional.relu(x);
        y.backward(new List<Tensor> { grad });
        return x.grad!.sum().item<float>();
    }

    /// <summary>The Lipschitz regulariser over SmallCnn's four layers, forward + backward.</summary>
    [Benchmark]
    public float RegularizerForwardBackward()
    {
        using var scope = NewDisposeScope();
        foreach (var p in model.parameters()) p.grad?.zero_();
        var reg = regularizer.Compute(model);
        reg.backward();
        return reg.item<float>();
    }
}
