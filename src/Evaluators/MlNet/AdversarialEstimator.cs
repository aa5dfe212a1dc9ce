using DqMlNet.Attacks;
using DqMlNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Evaluators;

/// <summary>
/// The attack stage as an ML.NET estimator, created by <c>mlContext.Transforms.Adversarial(fittedModel, attack)</c>: it
/// composes with <c>Append</c> like any transform, and <c>Fit(data).Transform(data)</c> gives the data with the DQ stage's
/// pixel column replaced by adversarial examples (see <see cref="AdversarialTransformer"/>). Nothing is learned: the
/// model attacked is the fitted one passed in, so <see cref="Fit"/> only checks the input.
/// </summary>
public sealed class AdversarialEstimator : IEstimator<AdversarialTransformer>
{
    private readonly MlNetHost ml;
    private readonly ITransformer model;
    private readonly DefensiveQuantizationTransformer target;
    private readonly IReadOnlyList<ITransformer> prefix;
    private readonly Attack attack;
    private readonly string labelColumn;
    private readonly int batchSize;

    internal AdversarialEstimator(MlNetHost ml, ITransformer model, Attack attack, string labelColumn, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(attack);
        ArgumentException.ThrowIfNullOrEmpty(labelColumn);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        this.ml = ml;
        this.model = model;
        (target, prefix) = PipelineParts.Locate(model);
        this.attack = attack;
        this.labelColumn = labelColumn;
        this.batchSize = batchSize;
    }

    /// <summary>Checks <paramref name="input"/> and returns the attack stage for <c>Transform</c>.</summary>
    public AdversarialTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var transformer = new AdversarialTransformer(ml, model, attack, labelColumn, batchSize);
        transformer.GetOutputSchema(input.Schema);
        return transformer;
    }

    /// <summary>
    /// The input's columns with the pixel column unchanged in type. When the input is the fitted pipeline's own input,
    /// the columns the transforms before the DQ stage add are included (they run first). Throws, naming the column, when
    /// the pixel column is not a Vector&lt;Single&gt; or the label is not a key.
    /// </summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var features = inputSchema.FirstOrDefault(c => c.Name == target.Columns.Features);
        var label = inputSchema.FirstOrDefault(c => c.Name == labelColumn);
        bool direct = features.Name is not null && features.Kind == SchemaShape.Column.VectorKind.Vector &&
                      features.ItemType == NumberDataViewType.Single && label.Name is not null && label.IsKey;
        if (direct) return inputSchema;
        if (prefix.Count == 0)
        {
            if (features.Name is null)
                throw new ArgumentException($"Input column '{target.Columns.Features}' is missing; the attack stage replaces the pixel column the DQ stage reads.", nameof(inputSchema));
            if (features.Kind != SchemaShape.Column.VectorKind.Vector || features.ItemType != NumberDataViewType.Single)
                throw new ArgumentException($"Column '{target.Columns.Features}' is {features.Kind} of {features.ItemType}; the attack stage works on pixel " +
                                            "vectors (Vector<Single>). Apply ExtractPixels before the DQ stage to attack image pipelines.", nameof(inputSchema));
            throw new ArgumentException($"Label column '{labelColumn}' must exist and be a key (MapValueToKey, as the fitted pipeline maps it).", nameof(inputSchema));
        }
        // The transforms before the DQ stage are fitted: propagate a schema with the shape's column types through them.
        var schema = new AdversarialTransformer(ml, model, attack, labelColumn, batchSize).GetOutputSchema(SchemaOf(inputSchema));
        return ShapeOf(schema);
    }

    /// <summary>
    /// A schema with the shape's columns. A shape carries no vector sizes and no key counts, so vectors get an unknown
    /// size and keys the largest count of their raw type; the fitted transforms before the DQ stage accept such types.
    /// </summary>
    private static DataViewSchema SchemaOf(SchemaShape shape)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var column in shape)
        {
            DataViewType item = column.IsKey ? new KeyDataViewType(column.ItemType.RawType, MaxKeyCount(column.ItemType.RawType)) : column.ItemType;
            DataViewType type = column.Kind == SchemaShape.Column.VectorKind.Scalar || item is not PrimitiveDataViewType primitive
                ? item : new VectorDataViewType(primitive);
            builder.AddColumn(column.Name, type);
        }
        return builder.ToSchema();
    }

    private static ulong MaxKeyCount(Type raw) =>
        raw == typeof(byte) ? byte.MaxValue : raw == typeof(ushort) ? ushort.MaxValue : raw == typeof(uint) ? uint.MaxValue : ulong.MaxValue;

    /// <summary>
    /// The shape of a schema, as ML.NET's estimator chains compute it. <c>SchemaShape.Create</c> is internal and a shape's
    /// column constructor too, so a third-party estimator that adds columns reaches it by reflection (tested against the
    /// ML.NET version this package references).
    /// </summary>
    private static SchemaShape ShapeOf(DataViewSchema schema)
    {
        var create = typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static,
                         new[] { typeof(DataViewSchema) })
                     ?? throw new NotSupportedException("This ML.NET version no longer has SchemaShape.Create(DataViewSchema), through which the attack " +
                                                        "stage describes its output. Pass the view that enters the DQ stage (pixels and key label) instead.");
        return (SchemaShape)create.Invoke(null, new object[] { schema })!;
    }
}
