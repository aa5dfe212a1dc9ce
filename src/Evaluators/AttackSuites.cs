namespace DqMlNet.Evaluators;

/// <summary>Ready-made attack suites.</summary>
public static class AttackSuites
{
    /// <summary>
    /// The standard suite, in AutoAttack's spirit: APGD-CE, APGD-T (DLR), Square, plus PGD with smooth-proxy gradients
    /// for quantized models (on low-bit models it can beat straight-through gradients). The worst case over them is
    /// what a robustness claim should quote.
    /// </summary>
    public static IReadOnlyList<AttackEntry> Standard(bool quantized, int steps = 20, int squareQueries = 1000)
    {
        var suite = new List<AttackEntry>
        {
            AttackEntry.Named("APGD-CE", steps), AttackEntry.Named("APGD-T", steps), AttackEntry.Named("Square", steps, squareQueries),
        };
        if (quantized) suite.Add(AttackEntry.Named("PGD-proxy", steps));
        return suite;
    }

    /// <summary>The quick suite: FGSM and PGD.</summary>
    public static IReadOnlyList<AttackEntry> Quick(int steps = 20) => new[] { AttackEntry.Named("FGSM"), AttackEntry.Named("PGD", steps) };
}
