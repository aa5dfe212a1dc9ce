#!/usr/bin/env bash
# Load test of the scoring service (samples/ScoringService) with ApacheBench (Debian: apt-get install apache2-utils).
#
#   bench/ServiceLoad/run.sh [--model dq4.zip] [--seconds 60] [--round 10] [--concurrency 64] [--warmup 10] [--out DIR]
#
# Starts the service (Release build, production logging) on a free local port, waits for /health/ready, warms up, then
# runs the same client (ab, keep-alive, N concurrent connections) against POST /predict (a 28×28 Fashion-MNIST PNG) and
# GET /health, --seconds each, in alternating rounds of --round seconds (so that background load on a shared machine
# hits both endpoints alike). Reports requests/s of both (completed requests ÷ time) and their ratio, p50/p99 latency
# (from every request's time, ab -g), failed and non-2xx responses, the server's RSS from the end of the warm-up to the
# end (sampled every second; drift = mean of the last 10 samples / mean of the first 10 − 1), and the batch sizes the micro-batcher formed
# during the /predict rounds (from GET /metrics). Without --model it trains a small DQ-4 SmallCnn on the committed
# fixture (1 epoch, 2,000 images) with `dq train`.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SECONDS_RUN=60; ROUND=10; CONCURRENCY=64; WARMUP=10; MODEL=""; OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --seconds) SECONDS_RUN="$2"; shift 2 ;;
    --round) ROUND="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v ab >/dev/null || { echo "ab not found: apt-get install -y apache2-utils" >&2; exit 2; }
OUT="${OUT:-$(mktemp -d /tmp/dqmlnet-serviceload-XXXXXX)}"
mkdir -p "$OUT"
echo "results in $OUT"

dotnet build "$ROOT/samples/ScoringService" -c Release -v q -nologo >/dev/null
if [[ -z "$MODEL" ]]; then
  MODEL="$OUT/dq4.zip"
  echo "training $MODEL (dq train, 1 epoch on the fixture)"
  dotnet run --project "$ROOT/samples/DqCli" -c Release -- train --mode dq --bits 4 --epochs 1 \
    --data "$ROOT/tests/fixtures/fashion-mnist-small" --test-limit 500 -o "$MODEL" >"$OUT/train.log" 2>&1
fi

# The request image: test image 0 of the fixture as an 8-bit grey 28×28 PNG.
python3 - "$ROOT/tests/fixtures/fashion-mnist-small/t10k-images-idx3-ubyte.gz" "$OUT/image.png" <<'PY'
import gzip, struct, sys, zlib
raw = gzip.open(sys.argv[1]).read()
n, h, w = struct.unpack(">III", raw[4:16])
pixels = raw[16:16 + h * w]
rows = b"".join(b"\0" + pixels[y * w:(y + 1) * w] for y in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
open(sys.argv[2], "wb").write(png)
PY

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
# glibc gives every thread that allocates its own malloc arena (up to 8 per core) and keeps their pages: with the thread
# pool's threads and ONNX Runtime's, RSS creeps up under load. Two arenas keep it flat (docs/apps.md, Deployment).
MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
  dotnet "$ROOT/samples/ScoringService/bin/Release/net10.0/ScoringService.dll" --model "$MODEL" --urls "$URL" >"$OUT/server.log" 2>&1 &
SERVER=$!
SAMPLER=""
cleanup() {
  [[ -n "$SAMPLER" ]] && kill "$SAMPLER" 2>/dev/null || true
  kill -TERM "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  curl -sf "$URL/health/ready" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$OUT/server.log"; exit 1; }
  sleep 0.5
done
curl -sf "$URL/health/ready" >"$OUT/ready.json"
curl -s "$URL/model" >"$OUT/model.json"

AB=(ab -k -c "$CONCURRENCY" -s 30)
echo "warm-up: $WARMUP s of POST /predict"
"${AB[@]}" -t "$WARMUP" -n 5000000 -p "$OUT/image.png" -T image/png "$URL/predict" >"$OUT/warmup.txt" 2>&1

rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }
( while true; do echo "$(date +%s.%N) $(rss)"; sleep 1; done ) >"$OUT/rss.txt" &
SAMPLER=$!
echo "POST /predict and GET /health: $SECONDS_RUN s each in rounds of $ROUND s, $CONCURRENCY connections"
ROUNDS=$(( (SECONDS_RUN + ROUND - 1) / ROUND ))
for r in $(seq 1 "$ROUNDS"); do
  curl -s "$URL/metrics" >"$OUT/metrics-$r-before.json"
  "${AB[@]}" -t "$ROUND" -n 5000000 -g "$OUT/predict-$r.tsv" -p "$OUT/image.png" -T image/png "$URL/predict" >"$OUT/predict-$r.txt" 2>&1
  curl -s "$URL/metrics" >"$OUT/metrics-$r-after.json"
  "${AB[@]}" -t "$ROUND" -n 5000000 -g "$OUT/health-$r.tsv" "$URL/health" >"$OUT/health-$r.txt" 2>&1
done
kill "$SAMPLER"; SAMPLER=""

python3 - "$OUT" "$SECONDS_RUN" "$CONCURRENCY" "$ROUNDS" "$ROUND" <<'PY' | tee "$OUT/summary.md"
import json, re, sys, os, datetime, platform
out, seconds, conc, rounds, round_s = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def num(text, pat):
    m = re.search(pat, text, re.M)
    return float(m.group(1)) if m else 0.0
def endpoint(name):
    r = dict(complete=0, failed=0, non2xx=0, time=0.0, times=[])
    for i in range(1, rounds + 1):
        text = open(os.path.join(out, f"{name}-{i}.txt")).read()
        r["complete"] += int(num(text, r"Complete requests:\s+(\d+)"))
        r["failed"] += int(num(text, r"Failed requests:\s+(\d+)"))
        r["non2xx"] += int(num(text, r"Non-2xx responses:\s+(\d+)"))
        r["time"] += num(text, r"Time taken for tests:\s+([\d.]+)")
        with open(os.path.join(out, f"{name}-{i}.tsv")) as f:
            next(f)
            r["times"] += [int(line.split("\t")[4]) for line in f if line.strip()]
    t = sorted(r["times"])
    pct = lambda q: t[min(len(t) - 1, int(q * len(t)))] if t else 0
    r.update(rps=r["complete"] / r["time"] if r["time"] else 0, p50=pct(0.50), p99=pct(0.99), max=t[-1] if t else 0)
    return r
p, h = endpoint("predict"), endpoint("health")
rss = [int(l.split()[1]) for l in open(os.path.join(out, "rss.txt")) if len(l.split()) == 2]
sizes, rejected, timed_out = {}, 0, 0
for i in range(1, rounds + 1):
    before = json.load(open(os.path.join(out, f"metrics-{i}-before.json")))["counters"]
    after = json.load(open(os.path.join(out, f"metrics-{i}-after.json")))["counters"]
    for k, v in after["batchSizes"].items():
        sizes[int(k)] = sizes.get(int(k), 0) + v - before["batchSizes"].get(k, 0)
    rejected += after["rejected"] - before["rejected"]
    timed_out += after["timedOut"] - before["timedOut"]
sizes = {k: v for k, v in sorted(sizes.items()) if v > 0}
batches, images = sum(sizes.values()), sum(k * v for k, v in sizes.items())
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(f"Scoring service load test, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores ({cpu}); "
      f"ab -k -c {conc}, {seconds} s per endpoint in alternating {round_s} s rounds; server MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '2')}")
print()
print("| endpoint | requests/s | complete | failed | non-2xx | p50 ms | p99 ms | max ms |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, r in (("POST /predict", p), ("GET /health", h)):
    print(f"| {name} | {r['rps']:.0f} | {r['complete']} | {r['failed']} | {r['non2xx']} | {r['p50']} | {r['p99']} | {r['max']} |")
print()
print(f"- /predict ÷ /health requests/s: **{p['rps'] / h['rps']:.2f}**")
if rss:
    # Drift: the mean of the last 10 samples over the mean of the first 10 (one GC cycle moves a single sample by a few %).
    w = min(10, len(rss))
    first, last = sum(rss[:w]) / w, sum(rss[-w:]) / w
    print(f"- server RSS after the warm-up: first {w} s {first / 1024:.0f} MB, last {w} s {last / 1024:.0f} MB, max {max(rss) / 1024:.0f} MB; "
          f"drift **{(last / first - 1) * 100:+.1f} %** ({len(rss)} samples, single samples {rss[0] / 1024:.0f} → {rss[-1] / 1024:.0f} MB)")
mean = images / batches if batches else 0
print(f"- batches formed during the /predict rounds: {batches} model calls for {images} images, mean {mean:.2f} per call; by size: "
      + ", ".join(f"{k}×{v}" for k, v in sizes.items()))
print(f"- limiter: {rejected} rejected, {timed_out} timed out")
m0 = json.load(open(os.path.join(out, "metrics-1-before.json"))).get("memory")
m1 = json.load(open(os.path.join(out, f"metrics-{rounds}-after.json"))).get("memory")
if m0 and m1:
    mb = lambda b: b / 2**20
    print(f"- managed heap after the last GC: {mb(m0['heapSizeAfterLastGcBytes']):.0f} → {mb(m1['heapSizeAfterLastGcBytes']):.0f} MB; "
          f"GC committed {mb(m0['gcCommittedBytes']):.0f} → {mb(m1['gcCommittedBytes']):.0f} MB; "
          f"gen2 collections {m1['gen2Collections'] - m0['gen2Collections']} during the run")
PY
