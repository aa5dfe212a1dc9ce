using System.Text.Json;
using System.Text.Json.Serialization;

namespace DqMlNet.Evaluators;

/// <summary>
/// Writes a per-image array on one line ("[1,2,3]") even in an indented document: a report of 10,000 images stays a few
/// lines per attack instead of 10,000. Numbers keep their shortest round-trip form, so reading gives the same values.
/// </summary>
internal sealed class CompactArrayConverter<T> : JsonConverter<T[]>
{
    private static readonly JsonSerializerOptions Plain = new();

    public override T[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JsonSerializer.Deserialize<T[]>(ref reader, Plain);

    public override void Write(Utf8JsonWriter writer, T[] value, JsonSerializerOptions options) =>
        writer.WriteRawValue(JsonSerializer.SerializeToUtf8Bytes(value, Plain), skipInputValidation: true);
}
