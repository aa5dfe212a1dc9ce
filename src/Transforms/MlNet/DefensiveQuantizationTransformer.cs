using DqMlNet.Models;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace DqMlNet.Transforms;

/// <summary>
/// The fitted DQ stage: scores an image column with a trained <see cref="DqModel"/> and adds <c>Score</c> (class
/// probabilities with slot names) and <c>PredictedLabel</c> (a key with the label's key values), as ML.NET's
/// multiclass trainers do. Lazy and batched (a view of millions of rows is never materialised), usable by
/// <c>CreatePredictionEngine</c>, safe to use from several threads. <c>mlContext.Model.Save</c> stores it as an ONNX
/// stage (see docs/mlnet.md); <see cref="DqModelFile.Load"/> restores this typed stage. It is a prediction transformer
/// (<see cref="ISingleFeaturePredictionTransformer{TModel}"/> of <see cref="DqModel"/>), so ML.NET tooling that takes one,
/// such as <c>MulticlassClassification.PermutationFeatureImportance</c>, accepts it.
/// </summary>
public sealed class DefensiveQuantizationTransformer : ISingleFeaturePredictionTransformer<DqModel>, IDisposable
{
    internal const string PixelColumn = "__dq_pixels__";

    private readonly MlNetHost ml;

    internal DefensiveQuantizationTransformer(MlNetHost ml, DqModel model, DqLabelInfo labels, DqColumns columns, DataViewSchema.Column? imageColumn = null,
        int batchSize = 256, byte[]? onnx = null)
    {
        if (imageColumn is { } image)
        {
            var builder = new DataViewSchema.Builder();
            builder.AddColumn(image.Name, image.Type);
            ImageInputSchema = builder.ToSchema();
        }
        this.ml = ml;
        Model = model;
        Labels = labels;
        Columns = columns;
        BatchSize = batchSize;
        if (labels.Count != model.Spec.NumClasses)
            throw new ArgumentException($"The label has {labels.Count} classes but the model has {model.Spec.NumClasses} outputs.");
        model.eval();
        Scorer = new DqScorer(model, onnx ?? Onnx.OnnxExporter.ToBytes(model, new Onnx.OnnxExportOptions { ClassNames = labels.ClassNames }));
    }

    /// <summary>The trained TorchSharp model (for attacks, evaluation, fine-tuning).</summary>
    public DqModel Model { get; }

    /// <summary>Label key cardinality, key values and class names.</summary>
    public DqLabelInfo Labels { get; }

    /// <summary>Input and output column names.</summary>
    public DqColumns Columns { get; }

    /// <summary>Rows scored per forward pass.</summary>
    public int BatchSize { get; }

    internal DqScorer Scorer { get; }

    /// <summary>For an MLImage input: a schema holding just that column (what the saved pixel extractor is fitted on).</summary>
    internal DataViewSchema? ImageInputSchema { get; }

    /// <summary>The input column the model reads (<see cref="DqColumns.Features"/>).</summary>
    public string FeatureColumnName => Columns.Features;

    /// <summary>
    /// The input column's type: the MLImage type it was fitted on, or Vector&lt;Single, C, H, W&gt; of pixels in [0, 1]
    /// (a flat vector of the same size is accepted too).
    /// </summary>
    public DataViewType FeatureColumnType => ImageInputSchema is { } image ? image[0].Type
        : new VectorDataViewType(NumberDataViewType.Single, Model.Spec.Channels, Model.Spec.Height, Model.Spec.Width);

    /// <summary>Class names in key order.</summary>
    public IReadOnlyList<string> ClassNames => Labels.ClassNames;

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckInput(inputSchema);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        var score = new DataViewSchema.Annotations.Builder();
        Labels.AddSlotNames(score);
        builder.AddColumn(Columns.Score, new VectorDataViewType(NumberDataViewType.Single, Labels.Count), score.ToAnnotations());
        var predicted = new DataViewSchema.Annotations.Builder();
        Labels.AddKeyValues(predicted);
        builder.AddColumn(Columns.PredictedLabel, new KeyDataViewType(typeof(uint), Labels.Count), predicted.ToAnnotations());
        return builder.ToSchema();
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new DqScoredDataView(this, input);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new DqRowMapper(this, inputSchema);

    /// <summary>Whether the input column is an MLImage (converted to pixels like <c>ExtractPixels(scaleImage: 1/255)</c>).</summary>
    internal bool IsImageInput(DataViewSchema schema) => schema[Columns.Features].Type is ImageDataViewType;

    /// <summary>The built-in pixel extractor applied to an MLImage input (planar C·H·W, scaled to [0, 1]).</summary>
    internal ITransformer PixelStage(DataViewSchema schema) =>
        PixelExtraction.Estimator(ml, PixelColumn, Columns.Features, Model.Spec.Channels).Fit(new EmptyDataView(schema));

    /// <summary>Validates the input column: present, and a known-size float vector of C·H·W or an MLImage.</summary>
    internal void CheckInput(DataViewSchema schema)
    {
        var spec = Model.Spec;
        int pixels = spec.Channels * spec.Height * spec.Width;
        var column = schema.GetColumnOrNull(Columns.Features)
            ?? throw new ArgumentException($"Input column '{Columns.Features}' is missing. The DQ stage expects {spec.Channels}×{spec.Height}×{spec.Width} " +
                                           $"pixels as Vector<Single, {pixels}> (e.g. from ExtractPixels) or an MLImage column; set FeatureColumnName.", nameof(schema));
        if (column.Type is ImageDataViewType image)
        {
            if (image.Height != 0 && image.Width != 0 && (image.Height != spec.Height || image.Width != spec.Width))
                throw new ArgumentException($"Image column '{Columns.Features}' is {image.Width}×{image.Height} but the model expects {spec.Width}×{spec.Height}. Add ResizeImages before the DQ stage.", nameof(schema));
            return;
        }
        if (column.Type is not VectorDataViewType vector || vector.ItemType != NumberDataViewType.Single || vector.Size != pixels)
            throw new ArgumentException(
                $"Input column '{Columns.Features}' has type {column.Type}; the DQ stage expects Vector<Single, {pixels}> " +
                $"({spec.Channels}×{spec.Height}×{spec.Width} pixels in [0, 1], channel-major, e.g. ExtractPixels(scaleImage: 1f / 255)) or an MLImage column.", nameof(schema));
    }

    /// <summary>Saves as ONNX-backed built-in stages (third-party transformers cannot write their own model entries).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => MlNetOnnxStage.Save(ml, this, ctx);

    /// <summary>Releases the TorchSharp model.</summary>
    public void Dispose()
    {
        Scorer.Dispose();
        Model.Dispose();
    }
}
