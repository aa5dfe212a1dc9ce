using DqMlNet.Attacks;
using DqMlNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace DqMlNet.Evaluators;

/// <summary>
/// The fitted attack stage (<see cref="AdversarialEstimator"/>): replaces the pixel column the DQ stage reads with
/// adversarial examples crafted against that stage (judged on its deployed ONNX Runtime model, gradients from the
/// export's differentiable twin). Its input is either what the DQ stage reads (the pixel column and the key label, e.g.
/// the output of the fitted pipeline itself) or the fitted pipeline's own input, in which case the transforms before the
/// DQ stage run first, so the pipeline's own pixel extraction and label mapping are used. The output is that view with
/// the pixel column replaced; score it with <see cref="Target"/>. The attack runs when <see cref="Transform"/> is called,
/// in batches of <see cref="BatchSize"/> with the attack's seed, so the result matches <c>EvaluateRobustness</c> for the
/// same attack and seed. Other columns pass through.
/// </summary>
public sealed class AdversarialTransformer : ITransformer
{
    private readonly MlNetHost ml;
    private readonly IReadOnlyList<ITransformer> prefix;

    internal AdversarialTransformer(MlNetHost ml, ITransformer model, Attack attack, string labelColumn, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(attack);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        this.ml = ml;
        (Target, prefix) = PipelineParts.Locate(model);
        Model = model;
        Attack = attack;
        LabelColumn = labelColumn;
        BatchSize = batchSize;
    }

    /// <summary>The fitted model passed in: the DQ stage itself or a pipeline containing it.</summary>
    public ITransformer Model { get; }

    /// <summary>The DQ stage attacked (found inside <see cref="Model"/>).</summary>
    public DefensiveQuantizationTransformer Target { get; }

    /// <summary>The attack.</summary>
    public Attack Attack { get; }

    /// <summary>The pixel column replaced: the column the DQ stage reads.</summary>
    public string FeatureColumn => Target.Columns.Features;

    /// <summary>The key label column the attack moves away from.</summary>
    public string LabelColumn { get; }

    /// <summary>Images attacked per batch.</summary>
    public int BatchSize { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <summary>Whether <paramref name="schema"/> already holds what the DQ stage reads (pixels and key label).</summary>
    internal static bool ReadsDirectly(DefensiveQuantizationTransformer target, string labelColumn, DataViewSchema schema) =>
        schema.GetColumnOrNull(target.Columns.Features)?.Type is VectorDataViewType { ItemType: NumberDataViewType } &&
        schema.GetColumnOrNull(labelColumn)?.Type is KeyDataViewType;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        if (!ReadsDirectly(Target, LabelColumn, inputSchema) && prefix.Count > 0)
            inputSchema = prefix.Aggregate(inputSchema, (schema, t) => t.GetOutputSchema(schema));
        return Check(inputSchema);
    }

    private DataViewSchema Check(DataViewSchema schema)
    {
        var column = schema.GetColumnOrNull(FeatureColumn)
            ?? throw new ArgumentException($"Input column '{FeatureColumn}' is missing; the attack stage replaces the pixel column the DQ stage reads. " +
                                           "Pass the data the fitted pipeline reads, or the view that enters its DQ stage.", "inputSchema");
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType } v || v.ItemType != NumberDataViewType.Single)
            throw new ArgumentException($"Column '{FeatureColumn}' is {column.Type}; the attack stage works on pixel vectors (Vector<Single>). " +
                                        "Apply ExtractPixels before the DQ stage to attack image pipelines.", "inputSchema");
        if (schema.GetColumnOrNull(LabelColumn)?.Type is not KeyDataViewType)
            throw new ArgumentException($"Label column '{LabelColumn}' must exist and be a key (MapValueToKey, as the fitted pipeline maps it).", "inputSchema");
        return schema;
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!ReadsDirectly(Target, LabelColumn, input.Schema)) input = PipelineParts.Apply(prefix, input);
        Check(input.Schema);
        var spec = Target.Model.Spec;
        using var data = DataViewReader.Read(ml, input, FeatureColumn, LabelColumn, spec.Channels, spec.Height, spec.Width, Target.Labels, "attacked data");
        using var deployed = DeployedModel.FromStage(Target);
        var classifier = deployed.Classifier;
        int n = data.Count, perImage = spec.Channels * spec.Height * spec.Width;
        var adversarial = new float[n][];
        for (int start = 0, batch = 0; start < n; start += BatchSize, batch++)
        {
            using var scope = NewDisposeScope();
            int count = Math.Min(BatchSize, n - start);
            long[] globalRows = Enumerable.Range(start, count).Select(i => (long)i).ToArray(); // rows of the input view
            var output = Attack.Perturb(classifier, data.Images.narrow(0, start, count), data.Labels.narrow(0, start, count), null, batch, globalRows);
            var values = output.Adversarial.cpu().contiguous().data<float>().ToArray();
            for (int i = 0; i < count; i++) adversarial[start + i] = values.AsSpan(i * perImage, perImage).ToArray();
        }
        return new ReplacedColumnView(input, input.Schema[FeatureColumn], adversarial);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("The attack stage attacks whole batches; use Transform on an IDataView.");

    /// <summary>Attack stages are evaluation tools and are not saved into models.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        throw new NotSupportedException("An attack stage is an evaluation tool and cannot be saved; save the model without it.");

    /// <summary>The input with one vector column's rows replaced, in source order.</summary>
    private sealed class ReplacedColumnView(IDataView input, DataViewSchema.Column column, float[][] rows) : IDataView
    {
        public DataViewSchema Schema => input.Schema;

        public bool CanShuffle => false;

        public long? GetRowCount() => rows.Length;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
            new Cursor(input.GetRowCursor(columnsNeeded), column, rows);

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            new[] { GetRowCursor(columnsNeeded, rand) };

        private sealed class Cursor(DataViewRowCursor source, DataViewSchema.Column column, float[][] rows) : DataViewRowCursor
        {
            public override DataViewSchema Schema => source.Schema;
            public override long Position => source.Position;
            public override long Batch => source.Batch;
            public override bool MoveNext() => source.MoveNext();
            public override ValueGetter<DataViewRowId> GetIdGetter() => source.GetIdGetter();
            public override bool IsColumnActive(DataViewSchema.Column c) => source.IsColumnActive(c);

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column c)
            {
                if (c.Index != column.Index) return source.GetGetter<TValue>(c);
                return (ValueGetter<TValue>)(Delegate)(ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                    new VBuffer<float>(rows[Position].Length, rows[Position]).CopyTo(ref dst));
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing) source.Dispose();
                base.Dispose(disposing);
            }
        }
    }
}
