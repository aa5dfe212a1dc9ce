using DqMlNet.Lipschitz;
using DqMlNet.Models;
using static TorchSharp.torch;

namespace DqMlNet.Tests;

public class LipschitzTests
{
    [Fact]
    public void PenaltyEqualsHandComputedValue()
    {
        using var scope = NewDisposeScope();
        // M = [[1, 2, 0], [0, 1, 1]] (2×3): G = M Mᵀ = [[5, 2], [2, 2]]; G − I = [[4, 2], [2, 1]]; ‖·‖² = 16 + 4 + 4 + 1 = 25.
        var m = tensor(new float[] { 1, 2, 0, 0, 1, 1 }).reshape(2, 3);
        Assert.Equal(25f, LipschitzRegularizer.OrthogonalityPenalty(m).item<float>(), 5);
        // Literal MᵀM (3×3): [[1,2,0],[2,5,1],[0,1,1]] − I → [[0,2,0],[2,4,1],[0,1,0]]: 4 + 4 + 16 + 1 + 1 = 26.
        Assert.Equal(26f, LipschitzRegularizer.OrthogonalityPenalty(m, GramForm.Literal).item<float>(), 5);
        // A tall matrix takes its Gram on the smaller side: for Mᵀ (3×2) that is (Mᵀ)ᵀMᵀ = M Mᵀ again, so 25.
        Assert.Equal(25f, LipschitzRegularizer.OrthogonalityPenalty(m.t()).item<float>(), 5);
        // (β/2)·Σ over two weights.
        var reg = new LipschitzRegularizer(0.1);
        Assert.Equal(0.05f * (25 + 25), reg.Compute(new[] { m, m.t() }).item<float>(), 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LipschitzRegularizer(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LipschitzRegularizer(double.NaN));
    }

    [Theory]
    [InlineData(16, 72)] // wide: row Gram
    [InlineData(40, 9)]  // tall (a first conv with one input channel): column Gram
    public void PenaltyGradientIsTheAnalyticOne(int rows, int cols)
    {
        // d‖S Sᵀ − I‖²_F / dS = 4 (S Sᵀ − I) S for the Gram side S (M or Mᵀ): checks the one-factor-doubled backward.
        using var scope = NewDisposeScope();
        var w = randn(new long[] { rows, cols }, dtype: ScalarType.Float64, generator: new Generator(3)).mul(0.3).requires_grad_();
        LipschitzRegularizer.OrthogonalityPenalty(w).backward();
        using var noGrad = no_grad();
        var s = rows <= cols ? w : w.t();
        var expected = s.matmul(s.t()).sub(eye(s.shape[0], dtype: ScalarType.Float64)).matmul(s).mul(4);
        if (rows > cols) expected = expected.t();
        Assert.True(w.grad!.allclose(expected, rtol: 1e-10, atol: 1e-12), $"max |Δ| {w.grad!.sub(expected).abs().max().item<double>()}");
    }

    [Fact]
    public void MinimisingThePenaltyAloneMakesEverySingularValueOne()
    {
        using var scope = NewDisposeScope();
        var w = randn(new long[] { 64, 32, 3, 3 }, generator: new Generator(11)).mul(0.1f).requires_grad_();
        var optimizer = optim.Adam(new[] { new TorchSharp.Modules.Parameter(w.detach().clone(), true) }, 1e-2);
        var p = optimizer.parameters().Single();
        for (int i = 0; i < 600; i++)
        {
            using var step = NewDisposeScope();
            optimizer.zero_grad();
            LipschitzRegularizer.OrthogonalityPenalty(p).backward();
            optimizer.step();
        }
        var sv = linalg.svdvals(p.detach().flatten(1)).data<float>().ToArray();
        Assert.Equal(64, sv.Length); // 64×288
        Assert.All(sv, s => Assert.InRange(s, 0.95f, 1.05f));
        Assert.InRange(SpectralNorm.Estimate(p), 0.95, 1.05);
    }

    [Fact]
    public void GradientReachesConvolutionAndLinearWeights()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var model = ModelFactory.Create(TestData.SmallCnn(TrainingMode.Defensive));
        var layers = model.WeightLayers;
        Assert.Equal(new[] { WeightLayerKind.Convolution, WeightLayerKind.Convolution, WeightLayerKind.Linear, WeightLayerKind.Linear },
            layers.Select(l => l.Kind));
        new LipschitzRegularizer(1e-3).Compute(model).backward();
        foreach (var layer in layers)
        {
            Assert.NotNull(layer.Weight.grad);
            Assert.True(layer.Weight.grad!.abs().sum().item<float>() > 0, $"no gradient on {layer.Name}");
        }
        // Biases are not regularised.
        foreach (var (name, p) in model.named_parameters().Where(np => np.name.EndsWith("bias")))
            Assert.True(p.grad is null || p.grad.abs().sum().item<float>() == 0, $"{name} got a gradient");

        var withoutEnds = new LipschitzRegularizer(1e-3, new LipschitzOptions { IncludeFirstLayer = false, IncludeLastLayer = false });
        Assert.Equal(new[] { layers[1].Name, layers[2].Name }, withoutEnds.SelectLayers(model).Select(l => l.Name));
    }

    [Fact]
    public void StochasticPenaltyIsAnUnbiasedEstimateWithAnUnbiasedGradient()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        foreach (var shape in new[] { new long[] { 16, 3, 3, 3 }, new long[] { 64, 20 } }) // row Gram and column Gram
        {
            var w = (randn(shape) * 0.3).requires_grad_(true);
            var exact = LipschitzRegularizer.OrthogonalityPenalty(w);
            exact.backward();
            var exactGrad = w.grad!.clone();
            w.grad!.zero_();
            // Many probes in one call: the mean of ‖(G − I)v‖² converges to ‖G − I‖²_F.
            var estimate = LipschitzRegularizer.StochasticPenalty(w, 4000);
            estimate.backward();
            double rel = Math.Abs(estimate.item<float>() - exact.item<float>()) / exact.item<float>();
            Assert.True(rel < 0.05, $"shape [{string.Join(",", shape)}]: estimate {estimate.item<float>()} vs exact {exact.item<float>()}");
            double cos = (w.grad!.flatten().dot(exactGrad.flatten()) / (w.grad!.norm() * exactGrad.norm())).item<float>();
            Assert.True(cos > 0.98, $"gradient direction off: cos = {cos:F3}");
            // A few probes are noisy but still a penalty: positive, and zero for an orthogonal matrix.
            Assert.True(LipschitzRegularizer.StochasticPenalty(w, 2).item<float>() > 0);
        }
        var q = linalg.qr(randn(12, 12)).Q;
        Assert.Equal(0f, LipschitzRegularizer.StochasticPenalty(q, 3).item<float>(), 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LipschitzRegularizer(1e-3, new LipschitzOptions { Probes = 0 }));
    }

    [Fact]
    public void PowerIterationMatchesTheLargestSingularValue()
    {
        using var scope = NewDisposeScope();
        var w = randn(new long[] { 20, 7, 3, 3 }, generator: new Generator(5));
        double exact = linalg.svdvals(w.flatten(1)).max().item<float>();
        Assert.Equal(exact, SpectralNorm.Estimate(w, 200), 3);
    }
}
