using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DqMlNet.Data;
using DqMlNet.Lipschitz;
using DqMlNet.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DqMlNet.TorchTraining;

/// <summary>
/// The trainer's per-epoch checkpoint: model spec, resume fingerprint, epochs done, history, model weights, optimizer
/// state and random-generator states, in one file written atomically and ending in a SHA-256 of its contents.
/// </summary>
/// <remarks>
/// Checkpoints are input like any other file: <see cref="Load"/> checks the file's length against
/// <see cref="MaxBytes"/>, its checksum (a truncated or altered file is refused before anything is parsed), and every
/// declared length against the bytes left before allocating. <see cref="Save"/> keeps the previous checkpoint as
/// <c>checkpoint.dqck.prev</c>, so one bad write never leaves the user without a good checkpoint.
/// </remarks>
internal sealed class Checkpoint
{
    private const string Magic = "DQCK";
    private const int FormatVersion = 2;
    private const int HashLength = 32;
    public const string FileName = "checkpoint.dqck";
    public const string PreviousSuffix = ".prev";

    /// <summary>
    /// Largest checkpoint file read: the largest model a spec may describe (<see cref="ModelSpec.MaxWeights"/> float32
    /// weights) with Adam's two moments is about 2.4 GB; a little more for the rest.
    /// </summary>
    public static long MaxBytes { get; set; } = ModelSpec.MaxWeights * 4 * 3 + (64L << 20);

    public required ModelSpec Spec { get; init; }

    /// <summary>Everything besides the spec that determines the weights; a resumed run must match it exactly.</summary>
    public required ResumeFingerprint Fingerprint { get; init; }
    public required int EpochsCompleted { get; init; }
    public required List<EpochSummary> History { get; init; }
    public required byte[] ModelState { get; init; }
    public required byte[] OptimizerState { get; init; }

    /// <summary>TorchSharp's global CPU generator (weight init, dropout-like draws, anything without its own generator).</summary>
    public required byte[] TorchRngState { get; init; }

    /// <summary>The stochastic regulariser's probe generator, or empty when it has none.</summary>
    public required byte[] ProbeRngState { get; init; }

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

    public static byte[] TorchRngBytes()
    {
        using var state = random.get_rng_state();
        return state.data<byte>().ToArray();
    }

    public void Restore(DqModel model, OptimizerHelper optimizer, LipschitzRegularizer? regularizer)
    {
        model.load(new MemoryStream(ModelState));
        using (var reader = new BinaryReader(new MemoryStream(OptimizerState))) optimizer.load_state_dict(reader);
        using (var state = tensor(TorchRngState, ScalarType.Byte)) random.set_rng_state(state);
        if (regularizer?.ProbeGenerator is not null && ProbeRngState.Length > 0) regularizer.SetProbeState(ProbeRngState);
    }

    /// <summary>The path of the previous checkpoint kept next to <paramref name="path"/>.</summary>
    public static string PreviousPath(string path) => path + PreviousSuffix;

    /// <summary>
    /// Writes the checkpoint atomically. The checkpoint already at <paramref name="path"/> (the last good one) is first
    /// renamed to <see cref="PreviousPath"/>; if the process dies between the rename and the write, <see cref="Find"/>
    /// still finds it there.
    /// </summary>
    public void Save(string path)
    {
        if (File.Exists(path)) File.Move(path, PreviousPath(path), overwrite: true);
        AtomicFile.Write(path, stream =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using (var hashing = new HashingWriteStream(stream, hash))
            using (var w = new BinaryWriter(hashing, Encoding.UTF8, leaveOpen: true))
            {
                w.Write(Encoding.ASCII.GetBytes(Magic));
                w.Write(FormatVersion);
                w.Write(Spec.ToJson());
                w.Write(JsonSerializer.Serialize(Fingerprint));
                w.Write(EpochsCompleted);
                w.Write(JsonSerializer.Serialize(History));
                foreach (var blob in new[] { ModelState, OptimizerState, TorchRngState, ProbeRngState })
                {
                    w.Write(blob.LongLength);
                    w.Write(blob);
                }
            }
            stream.Write(hash.GetHashAndReset());
        });
    }

    /// <summary>The checkpoint to resume from: <paramref name="path"/>, else the previous one kept beside it, else null.</summary>
    public static string? Find(string path) =>
        File.Exists(path) ? path : File.Exists(PreviousPath(path)) ? PreviousPath(path) : null;

    public static Checkpoint Load(string path)
    {
        string Fail(string problem) =>
            $"Checkpoint '{path}' cannot be read: {problem}. Delete it to start training afresh (or set Resume = false)" +
            (File.Exists(PreviousPath(path)) && !path.EndsWith(PreviousSuffix, StringComparison.Ordinal)
                ? $", or rename the previous checkpoint '{PreviousPath(path)}' to '{Path.GetFileName(path)}' to resume from it."
                : ".");
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            long length = file.Length;
            if (length < 4 + 4 + HashLength) throw new InvalidDataException(Fail($"it has only {length} bytes (truncated)"));
            if (length > MaxBytes) throw new InvalidDataException(Fail($"it has {length:N0} bytes, more than the limit of {MaxBytes:N0}"));
            var magic = new byte[4];
            file.ReadExactly(magic);
            if (Encoding.ASCII.GetString(magic) != Magic) throw new InvalidDataException(Fail("it is not a DqMlNet checkpoint"));

            // The checksum covers everything before it: a truncated or altered file is refused before parsing.
            long body = length - HashLength;
            file.Position = 0;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                var buffer = new byte[1 << 16];
                long left = body;
                while (left > 0)
                {
                    int n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                    if (n == 0) throw new EndOfStreamException();
                    hash.AppendData(buffer, 0, n);
                    left -= n;
                }
                var stored = new byte[HashLength];
                file.ReadExactly(stored);
                if (!CryptographicOperations.FixedTimeEquals(stored, hash.GetHashAndReset()))
                    throw new InvalidDataException(Fail("its checksum does not match (the file is truncated, was cut off by a crash or was altered)"));
            }

            file.Position = 4;
            using var r = new BinaryReader(file, Encoding.UTF8, leaveOpen: true);
            int version = r.ReadInt32();
            if (version != FormatVersion) throw new InvalidDataException(Fail($"format version {version}, this library reads {FormatVersion}"));
            var spec = ModelSpec.FromJson(r.ReadString());
            try { spec.Validate(); }
            catch (ArgumentException e) { throw new InvalidDataException(Fail($"its model spec is invalid ({e.Message})"), e); }
            var fingerprint = JsonSerializer.Deserialize<ResumeFingerprint>(r.ReadString())
                ?? throw new InvalidDataException(Fail("its resume fingerprint is empty"));
            int epochs = r.ReadInt32();
            if (epochs < 1) throw new InvalidDataException(Fail($"it claims {epochs} completed epochs"));
            var history = JsonSerializer.Deserialize<List<EpochSummary>>(r.ReadString()) ?? new();
            byte[] Blob(string what)
            {
                long declared = r.ReadInt64();
                long left = body - file.Position;
                if (declared < 0 || declared > left || declared > Array.MaxLength)
                    throw new InvalidDataException(Fail($"the {what} declares {declared:N0} bytes but {left:N0} remain"));
                return r.ReadBytes((int)declared);
            }
            var checkpoint = new Checkpoint
            {
                Spec = spec,
                Fingerprint = fingerprint,
                EpochsCompleted = epochs,
                History = history,
                ModelState = Blob("model state"),
                OptimizerState = Blob("optimizer state"),
                TorchRngState = Blob("generator state"),
                ProbeRngState = Blob("probe generator state"),
            };
            if (file.Position != body) throw new InvalidDataException(Fail($"{body - file.Position} unexpected bytes follow the last field"));
            return checkpoint;
        }
        catch (Exception ex) when (ex is EndOfStreamException or JsonException or IOException && ex is not FileNotFoundException)
        {
            throw new InvalidDataException(Fail(ex.Message), ex);
        }
    }

    /// <summary>A write-only stream that feeds what it writes into a hash on its way to the inner stream.</summary>
    private sealed class HashingWriteStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
        }
    }
}
