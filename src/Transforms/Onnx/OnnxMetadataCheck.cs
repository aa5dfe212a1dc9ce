using Google.Protobuf;
using Onnx;

namespace DqMlNet.Transforms.Onnx;

/// <summary>
/// Refuses an ONNX model whose metadata ONNX Runtime cannot read safely, before ONNX Runtime opens it.
/// <para>
/// ONNX Runtime hands metadata keys to .NET as C strings: a key with a NUL character comes back cut short, its lookup
/// finds nothing, and reading the model's metadata then fails inside ONNX Runtime — with a NullReferenceException, or
/// on some machines by crashing the process (a damaged model zip found by fuzzing did both). The check reads only the
/// model's top-level fields and its metadata entries; the graph is skipped, not parsed.
/// </para>
/// </summary>
internal static class OnnxMetadataCheck
{
    /// <summary>Field number of <c>ModelProto.metadata_props</c> in onnx.proto.</summary>
    private const int MetadataPropsField = 14;

    /// <summary>Checks a serialized model held in memory; <paramref name="source"/> starts the error message.</summary>
    public static void Check(byte[] model, string source) => Scan(new CodedInputStream(model), source);

    /// <summary>Checks an ONNX file (read once, front to back, without holding the graph).</summary>
    public static void CheckFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        Scan(new CodedInputStream(stream), $"ONNX file '{path}'");
    }

    private static void Scan(CodedInputStream input, string source)
    {
        int index = 0;
        try
        {
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) != MetadataPropsField || WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
                {
                    input.SkipLastField();
                    continue;
                }
                var entry = StringStringEntryProto.Parser.ParseFrom(input.ReadBytes());
                Check(entry.Key, entry.Value, index++, source);
            }
        }
        catch (InvalidProtocolBufferException)
        {
            // Not readable as a model at all: ONNX Runtime's own loader refuses it with its reason.
        }
    }

    private static void Check(string key, string value, int index, string source)
    {
        if (key.Contains('\0') || value.Contains('\0'))
        {
            string part = key.Contains('\0') ? "key" : "value";
            string shown = key.Replace("\0", "\\0", StringComparison.Ordinal);
            if (shown.Length > 80) shown = shown[..80] + "…";
            throw new InvalidDataException(
                $"{source}: metadata entry {index} ('{shown}') has a NUL character in its {part}; ONNX Runtime cannot open such a model " +
                "safely (its metadata lookup fails and can crash the process). The file is damaged or was altered: export or save the model again.");
        }
    }
}
