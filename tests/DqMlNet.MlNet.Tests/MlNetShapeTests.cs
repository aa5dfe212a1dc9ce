using DqMlNet.Attacks;
using DqMlNet.Evaluators;
using DqMlNet.Models;
using DqMlNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Tests;

/// <summary>The ML.NET citizen: EvaluateRobustness in the caller's context, the attack stage as an estimator, the stage as a prediction transformer.</summary>
public class MlNetShapeTests(FittedPipelineFixture fixture) : IClassFixture<FittedPipelineFixture>
{
    private static RobustnessOptions Unseeded => new()
    {
        // Square's search and PGD's random start are where a seed shows; both are judged on the deployed model.
        Attacks = new[] { AttackEntry.Named("PGD", steps: 3), AttackEntry.Named("Square", squareQueries: 30) },
        Epsilons = new[] { 0.1 }, MaskingChecks = false, AmplificationEpsilon = null, Limit = 80,
    };

    /// <summary>A fresh context with <paramref name="contextSeed"/> evaluates the fitted pipeline on the test rows.</summary>
    private RobustnessReport Evaluate(int contextSeed, RobustnessOptions options)
    {
        var ml = new MLContext(seed: contextSeed);
        return ml.MulticlassClassification.EvaluateRobustness(fixture.Model, ml.Data.LoadFromEnumerable(fixture.Test), options: options).Report;
    }

    [Fact]
    public void EvaluateRobustnessTakesItsSeedFromTheCallersContextUnlessTheOptionsSetOne()
    {
        var first = Evaluate(1, Unseeded);
        var again = Evaluate(1, Unseeded);
        var other = Evaluate(2, Unseeded);

        static object Numbers(RobustnessReport r) => r.Attacks.Select(a => (a.Name, a.RobustAccuracy, a.MeanPerturbation, a.MaxPerturbation, a.MeanQueries)).ToList();
        // Same context seed, same calls: the same attack seed and identical numbers.
        Assert.Equal(first.Seed, again.Seed);
        Assert.Equal(Numbers(first), Numbers(again));
        Assert.Equal(first.WorstCase.Select(w => w.RobustAccuracy), again.WorstCase.Select(w => w.RobustAccuracy));
        // Another context seed: another attack seed, and Square's random search takes other queries.
        Assert.NotEqual(first.Seed, other.Seed);
        Assert.NotEqual(first.Attacks.Single(a => a.Name.StartsWith("Square", StringComparison.Ordinal)).MeanQueries,
            other.Attacks.Single(a => a.Name.StartsWith("Square", StringComparison.Ordinal)).MeanQueries);
        // An explicit seed wins over the context's.
        var pinned = Unseeded with { Seed = 7 };
        var pinned1 = Evaluate(1, pinned);
        var pinned2 = Evaluate(2, pinned);
        Assert.Equal(7, pinned1.Seed);
        Assert.Equal(Numbers(pinned1), Numbers(pinned2));
    }

    [Fact]
    public void TheAttackStageIsAnEstimatorThatAppendsAndFindsTheDqStageInAFittedPipeline()
    {
        var ml = new MLContext(seed: 0);
        var test = ml.Data.LoadFromEnumerable(fixture.Test);
        const double epsilon = 0.1;
        // The fitted pipeline's own input (text labels): the transforms before the DQ stage (its label mapping) run first.
        var attackPipeline = ml.Transforms.CopyColumns("CleanFeatures", "Features")
            .Append(ml.Transforms.Adversarial(fixture.Model, new Pgd(epsilon, 10) { Seed = 7 }));
        var fitted = attackPipeline.Fit(test);
        var perturbed = fitted.Transform(test);
        Assert.Same(fixture.Stage, fitted.LastTransformer.Target);
        Assert.IsType<KeyDataViewType>(perturbed.Schema["Label"].Type);

        var clean = perturbed.GetColumn<float[]>("CleanFeatures").ToList();
        var adversarial = perturbed.GetColumn<float[]>("Features").ToList();
        Assert.Equal(fixture.Test.Count, adversarial.Count);
        double largest = clean.Zip(adversarial).Max(p => p.First.Zip(p.Second).Max(v => Math.Abs(v.First - v.Second)));
        Assert.InRange(largest, 0.05, epsilon + 1e-6); // moved, within the ε-ball
        Assert.All(adversarial, image => Assert.All(image, v => Assert.InRange(v, 0f, 1f)));

        var cleanAccuracy = ml.MulticlassClassification.Evaluate(fixture.Model.Transform(test)).MicroAccuracy;
        var robustAccuracy = ml.MulticlassClassification.Evaluate(fitted.LastTransformer.Target.Transform(perturbed)).MicroAccuracy;
        Assert.True(cleanAccuracy > 0.5, $"clean accuracy {cleanAccuracy:P1}");
        Assert.True(robustAccuracy < cleanAccuracy - 0.1, $"PGD-10 at ε = {epsilon}: {robustAccuracy:P1} vs clean {cleanAccuracy:P1}");

        // The fitted pipeline's output already holds what the DQ stage reads: the attack reads it directly, same images.
        var scored = fixture.Model.Transform(test);
        var direct = ml.Transforms.Adversarial(fixture.Model, new Pgd(epsilon, 10) { Seed = 7 }).Fit(scored).Transform(scored);
        Assert.Equal(adversarial, direct.GetColumn<float[]>("Features").ToList());
    }

    [Fact]
    public void TheAttackStageNamesTheColumnItMisses()
    {
        var ml = new MLContext(seed: 0);
        var noLabel = ml.Data.LoadFromEnumerable(fixture.Test.Select(r => new FeaturesOnly { Features = r.Features }).ToList());
        var ex = Assert.ThrowsAny<Exception>(() => ml.Transforms.Adversarial(fixture.Stage, new Fgsm(0.1)).Fit(noLabel));
        Assert.Contains("'Label'", ex.Message);
    }

    [Fact]
    public void TheStageIsAPredictionTransformerThatPermutationFeatureImportanceAccepts()
    {
        var ml = new MLContext(seed: 0);
        const int examples = 40;
        var keyed = fixture.Model.First().Transform(ml.Data.LoadFromEnumerable(fixture.Test.Take(examples).ToList()));
        ISingleFeaturePredictionTransformer<DqModel> predictor = fixture.Stage;
        Assert.Equal("Features", predictor.FeatureColumnName);
        Assert.Equal(784, ((VectorDataViewType)predictor.FeatureColumnType).Size);
        Assert.Same(fixture.Stage.Model, predictor.Model);

        var importance = ml.MulticlassClassification.PermutationFeatureImportance(predictor, keyed, permutationCount: 1);
        Assert.Equal(784, importance.Length);
        // A pixel with the same value in every example cannot change a prediction when permuted; the object's pixels do.
        var pixels = fixture.Test.Take(examples).Select(r => r.Features).ToList();
        int constant = Enumerable.Range(0, 784).First(i => pixels.All(p => p[i] == pixels[0][i]));
        Assert.Equal(0, importance[constant].MicroAccuracy.Mean);
        Assert.True(importance.Min(m => m.MicroAccuracy.Mean) < -0.02, "no pixel's permutation lowered the accuracy");
    }

    private sealed class FeaturesOnly
    {
        [VectorType(1, 28, 28)]
        public float[] Features { get; set; } = Array.Empty<float>();
    }
}
