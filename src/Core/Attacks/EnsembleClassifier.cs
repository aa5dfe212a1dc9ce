using static TorchSharp.torch;

namespace DqMlNet.Attacks;

/// <summary>
/// Several classifiers seen as one whose logits are the mean of theirs (the logit ensemble of Dong et al. 2018):
/// a transfer attack crafted on it must fool all members at once, and such examples transfer better.
/// </summary>
public sealed class EnsembleClassifier : IClassifier
{
    /// <summary>Creates the ensemble; members must share input shape, class count and device.</summary>
    public EnsembleClassifier(IReadOnlyList<IClassifier> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0) throw new ArgumentException("An ensemble needs at least one classifier.", nameof(members));
        var first = members[0];
        foreach (var m in members)
        {
            ArgumentNullException.ThrowIfNull(m, nameof(members));
            if (!m.InputShape.SequenceEqual(first.InputShape) || m.NumClasses != first.NumClasses)
                throw new ArgumentException(
                    $"Ensemble members disagree: input [{string.Join(", ", m.InputShape)}] with {m.NumClasses} classes vs " +
                    $"[{string.Join(", ", first.InputShape)}] with {first.NumClasses}. Use substitutes trained on the same data.", nameof(members));
        }
        Members = members.ToArray();
    }

    /// <summary>The members.</summary>
    public IReadOnlyList<IClassifier> Members { get; }

    /// <inheritdoc />
    public long[] InputShape => Members[0].InputShape;

    /// <inheritdoc />
    public int NumClasses => Members[0].NumClasses;

    /// <inheritdoc />
    public Device Device => Members[0].Device;

    /// <inheritdoc />
    public bool HasGradients => Members.All(m => m.HasGradients);

    /// <inheritdoc />
    public bool SurrogateIsExact => Members.All(m => m.SurrogateIsExact);

    /// <inheritdoc />
    public Tensor Logits(Tensor input) => Mean(m => m.Logits(input.to(m.Device)));

    /// <inheritdoc />
    public Tensor SurrogateLogits(Tensor input) => Mean(m => m.SurrogateLogits(input.to(m.Device)));

    /// <inheritdoc />
    public IDisposable BeginAttack() => new All(Members.Select(m => m.BeginAttack()).ToList());

    private Tensor Mean(Func<IClassifier, Tensor> logits)
    {
        using var scope = NewDisposeScope();
        Tensor sum = logits(Members[0]).to(Device);
        for (int i = 1; i < Members.Count; i++) sum = sum.add(logits(Members[i]).to(Device));
        return sum.div(Members.Count).MoveToOuterDisposeScope();
    }

    private sealed class All(List<IDisposable> parts) : IDisposable
    {
        public void Dispose()
        {
            for (int i = parts.Count - 1; i >= 0; i--) parts[i].Dispose();
        }
    }
}
