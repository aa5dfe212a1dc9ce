using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Transforms;

/// <summary>A data view with a schema and no rows: lets trivial built-in estimators be fitted for a schema alone.</summary>
internal sealed class EmptyDataView(DataViewSchema schema) : IDataView
{
    public DataViewSchema Schema { get; } = schema;

    public bool CanShuffle => true;

    public long? GetRowCount() => 0;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(Schema);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new DataViewRowCursor[] { new Cursor(Schema) };

    private sealed class Cursor(DataViewSchema schema) : DataViewRowCursor
    {
        public override DataViewSchema Schema { get; } = schema;
        public override long Position => -1;
        public override long Batch => 0;
        public override bool MoveNext() => false;
        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => throw new InvalidOperationException("The view is empty.");
        public override bool IsColumnActive(DataViewSchema.Column column) => true;
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => (ref TValue v) => throw new InvalidOperationException("The view is empty.");
    }
}
