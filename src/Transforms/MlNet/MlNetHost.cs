using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace DqMlNet.Transforms;

/// <summary>
/// The caller's ML.NET context as DqMlNet's stages use it: its host environment (messages, seed, cancellation) and the
/// transforms and data catalogs bound to that environment, for the built-in transforms a stage composes (pixel
/// extraction, key mappings, the ONNX stand-ins of Save).
/// <para>
/// An extension method on <c>mlContext.MulticlassClassification</c> or <c>mlContext.Transforms</c> receives the catalog,
/// not the <see cref="MLContext"/>. ML.NET's own extensions reach the environment behind a catalog with
/// <c>CatalogUtils.GetEnvironment</c>, which is internal like the <c>IInternalCatalog.Environment</c> property it reads,
/// and the catalogs' constructors taking an environment are internal too. A third party has no public way to either,
/// so both are reached by reflection (tested against the ML.NET version this package references). The MLContext object
/// itself is unreachable from a catalog (it wraps the environment, not the other way round), which is why stages hold
/// this instead of an MLContext.
/// </para>
/// </summary>
internal sealed class MlNetHost
{
    private const string InternalCatalog = "Microsoft.ML.Data.IInternalCatalog";

    private MlNetHost(IHostEnvironment environment, TransformsCatalog transforms, DataOperationsCatalog data)
    {
        Environment = environment;
        Transforms = transforms;
        Data = data;
    }

    /// <summary>The caller's environment: messages logged to it reach <c>mlContext.Log</c>; its random stream follows the context's seed.</summary>
    public IHostEnvironment Environment { get; }

    /// <summary><c>mlContext.Transforms</c> of the caller's context.</summary>
    public TransformsCatalog Transforms { get; }

    /// <summary><c>mlContext.Data</c> of the caller's context.</summary>
    public DataOperationsCatalog Data { get; }

    /// <summary>The context itself.</summary>
    public static MlNetHost Of(MLContext ml)
    {
        ArgumentNullException.ThrowIfNull(ml);
        return new MlNetHost(ml, ml.Transforms, ml.Data);
    }

    /// <summary>The context behind one of its catalogs (<c>mlContext.MulticlassClassification</c>, <c>.Transforms</c>, <c>.Data</c>, …).</summary>
    /// <exception cref="NotSupportedException">This ML.NET version hides the environment differently; the message names the MLContext overload to use.</exception>
    public static MlNetHost Of(object catalog, string entryPoint)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var environment = EnvironmentOf(catalog, entryPoint);
        return new MlNetHost(environment,
            catalog as TransformsCatalog ?? Create<TransformsCatalog>(environment, entryPoint),
            catalog as DataOperationsCatalog ?? Create<DataOperationsCatalog>(environment, entryPoint));
    }

    /// <summary>The environment behind a catalog.</summary>
    public static IHostEnvironment EnvironmentOf(object catalog, string entryPoint)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var property = catalog.GetType().GetInterfaces().FirstOrDefault(i => i.FullName == InternalCatalog)
            ?.GetProperty("Environment", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance);
        return property?.GetValue(catalog) as IHostEnvironment ?? throw Unsupported(entryPoint, $"{InternalCatalog}.Environment");
    }

    /// <summary>
    /// A seed drawn from the context's random stream, the way ML.NET's own trainers draw theirs (each registered
    /// component takes the next value): a context created with the same seed, used in the same order, gives the same seed.
    /// </summary>
    public int NextSeed(string component) => Environment.Register(component).Rand.Next();

    private static T Create<T>(IHostEnvironment environment, string entryPoint) where T : class
    {
        var constructor = typeof(T).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance, new[] { typeof(IHostEnvironment) })
            ?? throw Unsupported(entryPoint, $"{typeof(T).Name}(IHostEnvironment)");
        return (T)constructor.Invoke(new object[] { environment });
    }

    private static NotSupportedException Unsupported(string entryPoint, string member) => new(
        $"This ML.NET version no longer has {member}, through which {entryPoint} reaches the caller's MLContext. " +
        "Use the overload that takes the MLContext itself, or the ML.NET version DqMlNet references.");
}
