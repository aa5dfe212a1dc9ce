namespace DqMlNet.Evaluators;

/// <summary>Ready-made attack suites.</summary>
public static class AttackSuites
{
    /// <summary>
    /// AutoAttack's standard suite (Croce &amp; Hein 2020) at its published budgets: APGD-CE (100 iterations), APGD-T
    /// (9 target classes, 100 iterations each), FAB-T (9 target classes, 100 iterations) and Square (5,000 queries),
    /// plus PGD with smooth-proxy gradients for quantized models (on low-bit models it can beat straight-through
    /// gradients). Run it with <see cref="RobustnessOptions.Cascade"/> = true, as AutoAttack does: each attack then
    /// only works on the images the earlier ones failed to fool, which makes the full budgets affordable.
    /// </summary>
    /// <param name="quantized">Add smooth-proxy PGD (for quantized models).</param>
    /// <param name="steps">Iterations of APGD-CE, APGD-T and FAB-T (AutoAttack: 100).</param>
    /// <param name="squareQueries">Square's query budget (AutoAttack: 5,000).</param>
    /// <param name="proxySteps">Steps of the smooth-proxy PGD.</param>
    public static IReadOnlyList<AttackEntry> AutoAttack(bool quantized, int steps = 100, int squareQueries = 5000, int proxySteps = 20)
    {
        var suite = new List<AttackEntry>
        {
            AttackEntry.Named("APGD-CE", iterations: steps),
            AttackEntry.Named("APGD-T", iterations: steps, targetClasses: 9),
            AttackEntry.Named("FAB-T", iterations: steps, targetClasses: 9),
            AttackEntry.Named("Square", squareQueries: squareQueries),
        };
        if (quantized) suite.Add(AttackEntry.Named("PGD-proxy", proxySteps));
        return suite;
    }

    /// <summary>
    /// A lighter suite in AutoAttack's spirit, for quick studies (the quickstart, the CLI's default): APGD-CE, APGD-T
    /// with 3 target classes (AutoAttack: 9), Square with 1,000 queries (AutoAttack: 5,000), no FAB-T, plus smooth-proxy
    /// PGD for quantized models. It includes a score-based attack, so its minimum is a worst case at these budgets, but it
    /// can lie above <see cref="AutoAttack"/>'s on models whose gradients are masked (low bit widths).
    /// </summary>
    /// <param name="quantized">Add smooth-proxy PGD (for quantized models; on a float model it is plain PGD).</param>
    /// <param name="steps">PGD steps; APGD runs 5× as many iterations.</param>
    /// <param name="squareQueries">Square's query budget.</param>
    public static IReadOnlyList<AttackEntry> Light(bool quantized, int steps = 20, int squareQueries = 1000)
    {
        var suite = new List<AttackEntry>
        {
            AttackEntry.Named("APGD-CE", steps),
            AttackEntry.Named("APGD-T", steps, targetClasses: 3),
            AttackEntry.Named("Square", steps, squareQueries),
        };
        if (quantized) suite.Add(AttackEntry.Named("PGD-proxy", steps));
        return suite;
    }

    /// <summary>
    /// The quick suite: FGSM and PGD. Gradient attacks only, so its minimum is an upper bound on robust accuracy, not a
    /// worst case (masked gradients of quantized models make it optimistic); use <see cref="Light"/> or
    /// <see cref="AutoAttack"/> for a robustness claim.
    /// </summary>
    public static IReadOnlyList<AttackEntry> Quick(int steps = 20) => new[] { AttackEntry.Named("FGSM"), AttackEntry.Named("PGD", steps) };
}
