namespace DqMlNet.Fuzz;

/// <summary>
/// One fuzzed reader: <see cref="Run"/> feeds it the input; an exception for which <see cref="IsExpected"/> is true is
/// the reader's documented way of refusing bad input, anything else (and a hang, or running out of memory) is a finding.
/// </summary>
internal sealed record FuzzTarget(string Name, string Description, Action<byte[]> Run, Func<Exception, bool> IsExpected);
