namespace DqMlNet.Models;

/// <summary>Network families DqMlNet builds.</summary>
public enum Architecture
{
    /// <summary>conv32–conv64–fc256 (spec: the CPU-scale model).</summary>
    SmallCnn,

    /// <summary>VGG with BatchNorm, CIFAR variant, depth 11/13/16/19 and a width multiplier.</summary>
    Vgg,

    /// <summary>Pre-activation Wide ResNet (WRN-28-10 is the paper's model).</summary>
    WideResNet,
}
