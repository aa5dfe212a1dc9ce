using System.Diagnostics;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace DqMlNet.Bench;

/// <summary>
/// ONNX Runtime's own GEMM throughput: a one-node MatMul (fp32) or MatMulInteger (uint8 × int8 → int32) graph with the
/// right-hand matrix constant, as the exported models' convolutions have their weights. LibTorch's BLAS is not the
/// fastest GEMM on every CPU (on AMD EPYC, ONNX Runtime's kernels beat torch.mm), and integer kernels run several times
/// faster than float ones, so each "fraction of peak" needs the best GEMM of its own number type as the reference.
/// </summary>
internal static class OrtGemmPeak
{
    /// <summary>
    /// Best GFLOP/s (fp32) or GOP/s (int8) of an n×n×n product over <paramref name="sessions"/> sessions of
    /// <paramref name="reps"/> timed products each, with the median and minimum of all of them. One session runs at one
    /// speed but sessions differ by up to 25 % here (where their buffers land), so the best of several is the peak.
    /// </summary>
    public static (double Best, double Median, double Min) Measure(int n, bool int8, int threads, int reps, int sessions)
    {
        var rates = new List<double>(reps * sessions);
        for (int i = 0; i < sessions; i++) rates.AddRange(Session(n, int8, threads, reps, warmUpSeconds: i == 0 ? 1.0 : 0.3));
        return (rates.Max(), Bench.Measure.Median(rates), rates.Min());
    }

    private static List<double> Session(int n, bool int8, int threads, int reps, double warmUpSeconds)
    {
        using var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads };
        using var session = new InferenceSession(Model(n, int8), so);
        using var runOptions = new RunOptions();
        var rng = new Random(3);
        var shape = new long[] { n, n };
        OrtValue input;
        if (int8)
        {
            var a = new byte[n * n];
            rng.NextBytes(a);
            input = OrtValue.CreateTensorValueFromMemory(a, shape);
        }
        else
        {
            input = OrtValue.CreateTensorValueFromMemory(RandomFloats(rng, n * n), shape);
        }
        using (input)
        using (var output = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance,
                   int8 ? TensorElementType.Int32 : TensorElementType.Float, shape))
        {
            var inputs = new[] { input };
            var outputs = new[] { output };
            var inputNames = new[] { "a" };
            var outputNames = new[] { "y" };
            void Run() => session.Run(runOptions, inputNames, inputs, outputNames, outputs);
            var warm = Stopwatch.StartNew();
            do Run(); while (warm.Elapsed.TotalSeconds < warmUpSeconds);
            var rates = new List<double>(reps);
            for (int i = 0; i < reps; i++) rates.Add(2.0 * n * n * n / (Bench.Measure.Time(Run) / 1000) / 1e9);
            return rates;
        }
    }

    private static float[] RandomFloats(Random rng, int count)
    {
        var data = new float[count];
        for (int i = 0; i < count; i++) data[i] = (float)rng.NextDouble();
        return data;
    }

    private static byte[] Model(int n, bool int8)
    {
        var rng = new Random(2);
        var graph = new GraphProto { Name = int8 ? "int8-gemm-peak" : "fp32-gemm-peak" };
        var b = new TensorProto { Name = "b", DataType = (int)(int8 ? TensorProto.Types.DataType.Int8 : TensorProto.Types.DataType.Float) };
        if (int8)
        {
            var data = new byte[n * n];
            rng.NextBytes(data);
            b.RawData = ByteString.CopyFrom(data);
        }
        else
        {
            b.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(RandomFloats(rng, n * n).AsSpan()));
        }
        b.Dims.Add(n);
        b.Dims.Add(n);
        graph.Initializer.Add(b);
        graph.Input.Add(Value("a", int8 ? TensorProto.Types.DataType.Uint8 : TensorProto.Types.DataType.Float, n));
        graph.Output.Add(Value("y", int8 ? TensorProto.Types.DataType.Int32 : TensorProto.Types.DataType.Float, n));
        var node = new NodeProto { OpType = int8 ? "MatMulInteger" : "MatMul", Name = "gemm" };
        node.Input.Add("a");
        node.Input.Add("b");
        node.Output.Add("y");
        graph.Node.Add(node);
        var model = new ModelProto { IrVersion = 7, ProducerName = "DqMlNet.Bench", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model.ToByteArray();
    }

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, long n)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = n });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = n });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }
}
