using Microsoft.ML;
using Microsoft.ML.Data;

namespace DqMlNet.Transforms;

/// <summary>
/// What the fitted stage knows about the label key: its cardinality, the key values (so <c>PredictedLabel</c> gets
/// the same values and <c>MapKeyToValue</c> works), and readable class names.
/// </summary>
public sealed class DqLabelInfo
{
    private readonly Action<DataViewSchema.Annotations.Builder>? addKeyValues;

    private DqLabelInfo(int count, IReadOnlyList<string> classNames, DataViewType? valueType, Array? values, Action<DataViewSchema.Annotations.Builder>? addKeyValues)
    {
        Count = count;
        ClassNames = classNames;
        ValueType = valueType;
        Values = values;
        this.addKeyValues = addKeyValues;
    }

    /// <summary>Number of classes (key cardinality).</summary>
    public int Count { get; }

    /// <summary>Class names (the key values as text, or "0".."K-1").</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Type of the key values, or null when the label key has none.</summary>
    public DataViewType? ValueType { get; }

    /// <summary>Key values in key order (raw type of <see cref="ValueType"/>), or null.</summary>
    public Array? Values { get; }

    /// <summary>Reads <paramref name="label"/>; it must be a key type.</summary>
    public static DqLabelInfo FromLabelColumn(DataViewSchema.Column label)
    {
        if (label.Type is not KeyDataViewType key)
            throw new ArgumentException(
                $"Label column '{label.Name}' has type {label.Type}; DefensiveQuantize needs a key-typed label. " +
                $"Add mlContext.Transforms.Conversion.MapValueToKey(\"{label.Name}\") before it.", nameof(label));
        if (key.Count < 2 || key.Count > int.MaxValue)
            throw new ArgumentException($"Label column '{label.Name}' has {key.Count} class(es); a classifier needs at least 2 classes.", nameof(label));
        int count = (int)key.Count;
        var valuesColumn = label.Annotations.Schema.GetColumnOrNull("KeyValues");
        if (valuesColumn is null)
            return new DqLabelInfo(count, Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList(), null, null, null);
        var itemType = ((VectorDataViewType)valuesColumn.Value.Type).ItemType;
        var method = typeof(DqLabelInfo).GetMethod(nameof(FromKeyValues), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(itemType.RawType);
        return (DqLabelInfo)method.Invoke(null, new object[] { label, count, itemType })!;
    }

    /// <summary>Labels without key values: classes named by <paramref name="classNames"/>, key values = the names.</summary>
    public static DqLabelInfo FromClassNames(IReadOnlyList<string> classNames)
    {
        var values = classNames.Select(n => n.AsMemory()).ToArray();
        return Create(classNames.Count, classNames, TextDataViewType.Instance, values);
    }

    /// <summary>Rebuilds label info saved as a value-type name and the values as invariant text.</summary>
    internal static DqLabelInfo FromRecord(string valueType, IReadOnlyList<string> values)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        return valueType switch
        {
            "" => new DqLabelInfo(values.Count, values, null, null, null),
            nameof(ReadOnlyMemory<char>) or "ReadOnlyMemory`1" => FromClassNames(values),
            nameof(UInt32) => Create(values.Count, values, NumberDataViewType.UInt32, values.Select(v => uint.Parse(v, c)).ToArray()),
            nameof(Int32) => Create(values.Count, values, NumberDataViewType.Int32, values.Select(v => int.Parse(v, c)).ToArray()),
            nameof(Int64) => Create(values.Count, values, NumberDataViewType.Int64, values.Select(v => long.Parse(v, c)).ToArray()),
            nameof(UInt64) => Create(values.Count, values, NumberDataViewType.UInt64, values.Select(v => ulong.Parse(v, c)).ToArray()),
            nameof(Single) => Create(values.Count, values, NumberDataViewType.Single, values.Select(v => float.Parse(v, c)).ToArray()),
            nameof(Double) => Create(values.Count, values, NumberDataViewType.Double, values.Select(v => double.Parse(v, c)).ToArray()),
            nameof(Boolean) => Create(values.Count, values, BooleanDataViewType.Instance, values.Select(bool.Parse).ToArray()),
            _ => throw new InvalidDataException($"Label key values of type {valueType} are not supported by DqMlNet's saved stages."),
        };
    }

    private static DqLabelInfo FromKeyValues<T>(DataViewSchema.Column label, int count, DataViewType itemType)
    {
        VBuffer<T> buffer = default;
        label.GetKeyValues(ref buffer);
        var values = buffer.DenseValues().ToArray();
        if (values.Length != count)
            throw new ArgumentException($"Label column '{label.Name}' has {count} keys but {values.Length} key values.", nameof(label));
        var names = values.Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToList();
        return Create(count, names, itemType, values);
    }

    private static DqLabelInfo Create<T>(int count, IReadOnlyList<string> names, DataViewType itemType, T[] values)
    {
        void Add(DataViewSchema.Annotations.Builder builder) =>
            builder.Add("KeyValues", new VectorDataViewType((PrimitiveDataViewType)itemType, count),
                (ref VBuffer<T> dst) => new VBuffer<T>(values.Length, (T[])values.Clone()).CopyTo(ref dst));
        return new DqLabelInfo(count, names, itemType, values, Add);
    }

    /// <summary>Adds the KeyValues annotation (if any) to <paramref name="builder"/>.</summary>
    internal void AddKeyValues(DataViewSchema.Annotations.Builder builder) => addKeyValues?.Invoke(builder);

    /// <summary>Slot names of the score column: the class names.</summary>
    internal void AddSlotNames(DataViewSchema.Annotations.Builder builder)
    {
        var names = ClassNames.Select(n => n.AsMemory()).ToArray();
        builder.Add("SlotNames", new VectorDataViewType(TextDataViewType.Instance, Count),
            (ref VBuffer<ReadOnlyMemory<char>> dst) => new VBuffer<ReadOnlyMemory<char>>(names.Length, names).CopyTo(ref dst));
    }
}
