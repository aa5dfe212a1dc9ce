using System.Text;
using System.Text.Json;
using DqMlNet.Data;
using DqMlNet.Models;
using TorchSharp.Modules;

namespace DqMlNet.Training;

/// <summary>
/// The trainer's per-epoch checkpoint: model spec, training recipe, epochs done, history, model weights and optimizer
/// state, in one file written atomically.
/// </summary>
internal sealed class Checkpoint
{
    private const string Magic = "DQCK";
    private const int FormatVersion = 1;
    public const string FileName = "checkpoint.dqck";

    public required ModelSpec Spec { get; init; }
    public required string Recipe { get; init; }
    public required int EpochsCompleted { get; init; }
    public required List<EpochSummary> History { get; init; }
    public required byte[] ModelState { get; init; }
    public required byte[] OptimizerState { get; init; }

    public static byte[] ModelBytes(DqModel model)
    {
        var ms = new MemoryStream();
        model.save(ms); // closes the stream; ToArray still works
        return ms.ToArray();
    }

    public static byte[] OptimizerBytes(OptimizerHelper optimizer)
    {
        using var ms = new MemoryStream();
        using (var writer = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true)) optimizer.save_state_dict(writer);
        return ms.ToArray();
    }

    public void Restore(DqModel model, OptimizerHelper optimizer)
    {
        model.load(new MemoryStream(ModelState));
        using var reader = new BinaryReader(new MemoryStream(OptimizerState));
        optimizer.load_state_dict(reader);
    }

    public void Save(string path) => AtomicFile.Write(path, stream =>
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Encoding.ASCII.GetBytes(Magic));
        w.Write(FormatVersion);
        w.Write(Spec.ToJson());
        w.Write(Recipe);
        w.Write(EpochsCompleted);
        w.Write(JsonSerializer.Serialize(History));
        w.Write(ModelState.Length);
        w.Write(ModelState);
        w.Write(OptimizerState.Length);
        w.Write(OptimizerState);
    });

    public static Checkpoint Load(string path)
    {
        try
        {
            using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            if (Encoding.ASCII.GetString(r.ReadBytes(4)) != Magic) throw new InvalidDataException("not a DqMlNet checkpoint");
            int version = r.ReadInt32();
            if (version != FormatVersion) throw new InvalidDataException($"format version {version}, this library reads {FormatVersion}");
            return new Checkpoint
            {
                Spec = ModelSpec.FromJson(r.ReadString()),
                Recipe = r.ReadString(),
                EpochsCompleted = r.ReadInt32(),
                History = JsonSerializer.Deserialize<List<EpochSummary>>(r.ReadString()) ?? new(),
                ModelState = r.ReadBytes(r.ReadInt32()),
                OptimizerState = r.ReadBytes(r.ReadInt32()),
            };
        }
        catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException or JsonException)
        {
            throw new InvalidDataException(
                $"Checkpoint '{path}' cannot be read ({ex.Message}). Delete it to start training afresh, or set Resume = false.", ex);
        }
    }
}
