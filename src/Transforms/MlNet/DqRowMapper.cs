using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Transforms;

/// <summary>Row-by-row mapping for <c>PredictionEngine</c>: each row is scored as a batch of one when its outputs are read.</summary>
internal sealed class DqRowMapper : IRowToRowMapper
{
    private readonly DefensiveQuantizationTransformer parent;
    private readonly IRowToRowMapper? pixelMapper;

    public DqRowMapper(DefensiveQuantizationTransformer parent, DataViewSchema inputSchema)
    {
        this.parent = parent;
        InputSchema = inputSchema;
        OutputSchema = parent.GetOutputSchema(inputSchema);
        if (parent.IsImageInput(inputSchema)) pixelMapper = parent.PixelStage(inputSchema).GetRowToRowMapper(inputSchema);
    }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var needed = dependingColumns.Where(c => c.Index < InputSchema.Count).Select(c => InputSchema[c.Index]).ToList();
        if (dependingColumns.Any(c => c.Index >= InputSchema.Count)) needed.Add(InputSchema[parent.Columns.Features]);
        return needed.Distinct();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        DataViewRow pixelsRow = input;
        DataViewSchema.Column pixelColumn = input.Schema[parent.Columns.Features];
        if (pixelMapper is not null)
        {
            pixelsRow = pixelMapper.GetRow(input, pixelMapper.OutputSchema.Where(c => c.Name == DefensiveQuantizationTransformer.PixelColumn));
            pixelColumn = pixelsRow.Schema[DefensiveQuantizationTransformer.PixelColumn];
        }
        return new Row(this, input, pixelsRow, pixelColumn, activeColumns.Select(c => c.Index).ToHashSet());
    }

    private sealed class Row : DataViewRow
    {
        private readonly DqRowMapper mapper;
        private readonly DataViewRow input;
        private readonly HashSet<int> active;
        private readonly ValueGetter<VBuffer<float>> pixelGetter;
        private float[] probabilities = Array.Empty<float>();
        private float[] scoredPixels = Array.Empty<float>();
        private VBuffer<float> buffer;

        public Row(DqRowMapper mapper, DataViewRow input, DataViewRow pixelsRow, DataViewSchema.Column pixelColumn, HashSet<int> active)
        {
            this.mapper = mapper;
            this.input = input;
            this.active = active;
            pixelGetter = pixelsRow.GetGetter<VBuffer<float>>(pixelColumn);
        }

        public override DataViewSchema Schema => mapper.OutputSchema;

        public override long Position => input.Position;

        public override long Batch => input.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < mapper.InputSchema.Count ? input.IsColumnActive(input.Schema[column.Index]) : active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            int n = mapper.InputSchema.Count, classes = mapper.parent.Labels.Count;
            if (column.Index < n) return input.GetGetter<TValue>(input.Schema[column.Index]);
            if (column.Index == n)
                return (ValueGetter<TValue>)(Delegate)(ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                {
                    Ensure();
                    var editor = VBufferEditor.Create(ref dst, classes);
                    probabilities.AsSpan(0, classes).CopyTo(editor.Values);
                    dst = editor.Commit();
                });
            return (ValueGetter<TValue>)(Delegate)(ValueGetter<uint>)((ref uint dst) =>
            {
                Ensure();
                dst = DqScoredDataView.ArgMax(probabilities, 0, classes) + 1;
            });
        }

        private void Ensure()
        {
            // Keyed on the pixels, not the position: a PredictionEngine may reuse one row object for every call.
            pixelGetter(ref buffer);
            var scorer = mapper.parent.Scorer;
            if (buffer.Length != scorer.PixelsPerImage)
                throw new InvalidOperationException($"Row {input.Position} has {buffer.Length} pixels, the model expects {scorer.PixelsPerImage}.");
            var pixels = new float[scorer.PixelsPerImage];
            buffer.CopyTo(pixels);
            if (probabilities.Length > 0 && pixels.AsSpan().SequenceEqual(scoredPixels)) return;
            probabilities = scorer.Score(pixels, 1, mapper.parent.Columns.Features, input.Position);
            scoredPixels = pixels;
        }
    }
}
