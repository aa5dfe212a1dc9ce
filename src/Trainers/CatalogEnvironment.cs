using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace DqMlNet.Trainers;

/// <summary>
/// The host environment behind <c>mlContext.MulticlassClassification.Trainers</c>. ML.NET's own trainers reach it with
/// <c>CatalogUtils.GetEnvironment</c>, which is internal like the <c>IInternalCatalog.Environment</c> property it reads;
/// a third-party extension on the catalog has no public way to it, so it is read through that interface by reflection
/// (tested against the ML.NET version this package references). The environment is what the caller's MLContext
/// wraps: messages logged to it reach <c>mlContext.Log</c>.
/// </summary>
internal static class CatalogEnvironment
{
    private const string InternalCatalog = "Microsoft.ML.Data.IInternalCatalog";

    public static IHostEnvironment Of(MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var property = catalog.GetType().GetInterfaces().FirstOrDefault(i => i.FullName == InternalCatalog)
            ?.GetProperty("Environment", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance);
        return property?.GetValue(catalog) as IHostEnvironment
               ?? throw new NotSupportedException(
                   $"This ML.NET version no longer exposes its catalogs' environment ({InternalCatalog}.Environment), so " +
                   "mlContext.MulticlassClassification.Trainers.DefensiveQuantize cannot reach the context. Use mlContext.DefensiveQuantize(...), " +
                   "which builds the same estimator.");
    }
}
