using DqMlNet.Attacks;
using DqMlNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace DqMlNet.Evaluators;

/// <summary>
/// Replaces the pixel column with adversarial examples crafted against a fitted DQ stage (judged on its deployed ONNX
/// Runtime model, gradients from the export's differentiable twin). The attack runs when <see cref="Transform"/> is called, in
/// batches of <see cref="BatchSize"/> with the attack's seed, so the result matches <c>EvaluateRobustness</c> for the
/// same attack and seed. Other columns pass through.
/// </summary>
public sealed class AdversarialTransformer : ITransformer
{
    private readonly MLContext ml;

    internal AdversarialTransformer(MLContext ml, DefensiveQuantizationTransformer target, Attack attack, string featureColumn, string labelColumn, int batchSize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        this.ml = ml;
        Target = target;
        Attack = attack;
        FeatureColumn = featureColumn;
        LabelColumn = labelColumn;
        BatchSize = batchSize;
    }

    /// <summary>The stage attacked.</summary>
    public DefensiveQuantizationTransformer Target { get; }

    /// <summary>The attack.</summary>
    public Attack Attack { get; }

    /// <summary>The pixel column replaced.</summary>
    public string FeatureColumn { get; }

    /// <summary>The key label column the attack moves away from.</summary>
    public string LabelColumn { get; }

    /// <summary>Images attacked per batch.</summary>
    public int BatchSize { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        var column = inputSchema.GetColumnOrNull(FeatureColumn)
            ?? throw new ArgumentException($"Input column '{FeatureColumn}' is missing; the attack stage replaces the pixel column the model reads.", nameof(inputSchema));
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType } v || v.ItemType != NumberDataViewType.Single)
            throw new ArgumentException($"Column '{FeatureColumn}' is {column.Type}; the attack stage works on pixel vectors (Vector<Single>). " +
                                        "Apply ExtractPixels before the DQ stage to attack image pipelines.", nameof(inputSchema));
        if (inputSchema.GetColumnOrNull(LabelColumn)?.Type is not KeyDataViewType)
            throw new ArgumentException($"Label column '{LabelColumn}' must exist and be a key (MapValueToKey).", nameof(inputSchema));
        return inputSchema;
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        GetOutputSchema(input.Schema);
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
