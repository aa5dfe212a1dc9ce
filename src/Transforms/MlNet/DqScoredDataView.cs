using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Transforms;

/// <summary>
/// The lazy output of <see cref="DefensiveQuantizationTransformer.Transform"/>: input columns pass through, <c>Score</c> and
/// <c>PredictedLabel</c> are computed batch by batch as a cursor moves (nothing is materialised).
/// </summary>
internal sealed class DqScoredDataView : IDataView
{
    private readonly DefensiveQuantizationTransformer parent;
    private readonly IDataView input;
    private readonly IDataView source; // input, plus the pixel column for MLImage inputs
    private readonly int inputColumns;

    public DqScoredDataView(DefensiveQuantizationTransformer parent, IDataView input)
    {
        this.parent = parent;
        this.input = input;
        Schema = parent.GetOutputSchema(input.Schema);
        source = parent.IsImageInput(input.Schema) ? parent.PixelStage(input.Schema).Transform(input) : input;
        inputColumns = input.Schema.Count;
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false; // batches are scored in source order

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        bool score = needed.Contains(inputColumns) || needed.Contains(inputColumns + 1);
        var sourceColumns = needed.Where(i => i < inputColumns).Select(i => source.Schema[i]).ToList();
        var pixelColumn = source.Schema[parent.IsImageInput(input.Schema) ? DefensiveQuantizationTransformer.PixelColumn : parent.Columns.Features];
        if (score) sourceColumns.Add(pixelColumn);
        var cursor = source.GetRowCursor(sourceColumns.Distinct());
        return new Cursor(this, cursor, needed, score, pixelColumn);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly DqScoredDataView view;
        private readonly DataViewRowCursor source;
        private readonly HashSet<int> active;
        private readonly bool score;
        private readonly Dictionary<int, ColumnCache> caches = new();
        private readonly ValueGetter<VBuffer<float>>? pixelGetter;
        private readonly ValueGetter<DataViewRowId> idGetter;
        private readonly DataViewRowId[] ids;
        private readonly float[] pixels;
        private readonly int classes;
        private float[] probabilities = Array.Empty<float>();
        private VBuffer<float> row;
        private int count, index = -1;
        private long position = -1;

        public Cursor(DqScoredDataView view, DataViewRowCursor source, HashSet<int> active, bool score, DataViewSchema.Column pixelColumn)
        {
            this.view = view;
            this.source = source;
            this.active = active;
            this.score = score;
            int batch = view.parent.BatchSize;
            foreach (int c in active.Where(c => c < view.inputColumns))
                caches[c] = ColumnCache.Create(source, view.source.Schema[c], batch);
            if (score) pixelGetter = source.GetGetter<VBuffer<float>>(pixelColumn);
            idGetter = source.GetIdGetter();
            ids = new DataViewRowId[batch];
            pixels = score ? new float[batch * view.parent.Scorer.PixelsPerImage] : Array.Empty<float>();
            classes = view.parent.Labels.Count;
        }

        public override DataViewSchema Schema => view.Schema;

        public override long Position => position;

        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (index + 1 < count)
            {
                index++;
                position++;
                return true;
            }
            return Fill();
        }

        private bool Fill()
        {
            int batch = view.parent.BatchSize, perImage = view.parent.Scorer.PixelsPerImage;
            count = 0;
            while (count < batch && source.MoveNext())
            {
                foreach (var cache in caches.Values) cache.Capture(count);
                idGetter(ref ids[count]);
                if (pixelGetter is not null)
                {
                    pixelGetter(ref row);
                    if (row.Length != perImage)
                        throw new InvalidOperationException($"Row {position + count + 1} has {row.Length} pixels, the model expects {perImage}.");
                    row.CopyTo(pixels.AsSpan(count * perImage, perImage));
                }
                count++;
            }
            if (count == 0) return false;
            if (score) probabilities = view.parent.Scorer.Score(pixels, count, view.parent.Columns.Features, position + 1);
            index = 0;
            position++;
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = ids[index];

        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!active.Contains(column.Index))
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
            int input = view.inputColumns;
            if (column.Index < input) return (ValueGetter<TValue>)caches[column.Index].Getter(() => index);
            if (column.Index == input)
                return (ValueGetter<TValue>)(Delegate)(ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                {
                    var editor = VBufferEditor.Create(ref dst, classes);
                    probabilities.AsSpan(index * classes, classes).CopyTo(editor.Values);
                    dst = editor.Commit();
                });
            return (ValueGetter<TValue>)(Delegate)(ValueGetter<uint>)((ref uint dst) => dst = ArgMax(probabilities, index * classes, classes) + 1);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) source.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>0-based index of the largest of <paramref name="count"/> values starting at <paramref name="offset"/> (first on ties).</summary>
    internal static uint ArgMax(float[] values, int offset, int count)
    {
        int best = 0;
        for (int i = 1; i < count; i++) if (values[offset + i] > values[offset + best]) best = i;
        return (uint)best;
    }
}
