namespace DqMlNet.Data;

/// <summary>Train or test part of a dataset.</summary>
public enum DatasetSplit
{
    /// <summary>The training part.</summary>
    Train,

    /// <summary>The test part.</summary>
    Test,
}
