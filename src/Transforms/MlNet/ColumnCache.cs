using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Transforms;

/// <summary>
/// Holds one source column's values for a batch of rows, because the batched cursor reads a batch ahead of the row
/// it serves. Vectors are deep-copied (ML.NET getters reuse their buffers).
/// </summary>
internal abstract class ColumnCache
{
    public abstract void Capture(int slot);

    public abstract Delegate Getter(Func<int> slot);

    public static ColumnCache Create(DataViewRowCursor cursor, DataViewSchema.Column column, int capacity)
    {
        var type = column.Type is VectorDataViewType vector
            ? typeof(VectorCache<>).MakeGenericType(vector.ItemType.RawType)
            : typeof(ScalarCache<>).MakeGenericType(column.Type.RawType);
        return (ColumnCache)Activator.CreateInstance(type, cursor, column, capacity)!;
    }

    private sealed class ScalarCache<T> : ColumnCache
    {
        private readonly ValueGetter<T> source;
        private readonly T[] values;

        public ScalarCache(DataViewRowCursor cursor, DataViewSchema.Column column, int capacity)
        {
            source = cursor.GetGetter<T>(column);
            values = new T[capacity];
        }

        public override void Capture(int slot) => source(ref values[slot]);

        public override Delegate Getter(Func<int> slot) => (ValueGetter<T>)((ref T dst) => dst = values[slot()]);
    }

    private sealed class VectorCache<T> : ColumnCache
    {
        private readonly ValueGetter<VBuffer<T>> source;
        private readonly VBuffer<T>[] values;

        public VectorCache(DataViewRowCursor cursor, DataViewSchema.Column column, int capacity)
        {
            source = cursor.GetGetter<VBuffer<T>>(column);
            values = new VBuffer<T>[capacity];
        }

        public override void Capture(int slot)
        {
            VBuffer<T> current = default;
            source(ref current);
            current.CopyTo(ref values[slot]);
        }

        public override Delegate Getter(Func<int> slot) => (ValueGetter<VBuffer<T>>)((ref VBuffer<T> dst) => values[slot()].CopyTo(ref dst));
    }
}
