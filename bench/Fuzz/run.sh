#!/usr/bin/env bash
# Coverage-guided fuzzing of DqMlNet's readers of untrusted bytes with SharpFuzz + AFL++, one target at a time.
#
#   bench/Fuzz/run.sh [seconds-per-target] [target ...]      (default: 180 s, every target)
#
# Needs: afl-fuzz (Debian: apt-get install afl++) and the SharpFuzz instrumenter
# (dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0).
# Builds bench/Fuzz (Release), instruments the library assemblies in its output, writes seed corpora made with the
# library itself, runs afl-fuzz on each target for the given time, replays every crash and hang it saved, and writes
# a summary (executions, corpus paths, crashes, hangs, replayed findings) to <out>/summary.md.
# Crashes are replayed with the harness as built now: after a fix, an old crash shows as "refused".
# Environment: FUZZ_OUT (output folder; default bench/Fuzz/out/<UTC time>), FUZZ_TIMEOUT_MS (per-input time limit,
# default 10000: the machine may be shared), SCORING_SERVICE_DIR (the scoring service sources whose image checks are
# fuzzed; default samples/ScoringService).
set -euo pipefail

secs=${1:-180}
shift || true
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_OUT:-$root/bench/Fuzz/out/$(date -u +%Y%m%dT%H%M%SZ)}
timeout_ms=${FUZZ_TIMEOUT_MS:-10000}
bin=$root/bench/Fuzz/bin/Release/net10.0
harness=$bin/DqMlNet.Fuzz.dll
export PATH=$PATH:$HOME/.dotnet/tools

command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install afl++" >&2; exit 2; }
command -v sharpfuzz >/dev/null || { echo "sharpfuzz not found: dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0" >&2; exit 2; }

service_arg=()
[[ -n "${SCORING_SERVICE_DIR:-}" ]] && service_arg=("-p:ScoringServiceDir=${SCORING_SERVICE_DIR%/}/")
dotnet build "$root/bench/Fuzz/DqMlNet.Fuzz.csproj" -c Release -nologo -v q "${service_arg[@]}"

# Only the code under test is instrumented; the harness itself must not be (it runs before the fork server starts).
for assembly in DqMlNet.Core.dll DqMlNet.Transforms.dll DqMlNet.Fuzz.ImageChecks.dll; do
  if ! message=$(sharpfuzz "$bin/$assembly" 2>&1); then
    [[ "$message" == *"already instrumented"* ]] || { echo "$message" >&2; exit 1; }
  fi
done

mkdir -p "$out"
dotnet "$harness" seeds "$root" "$out/seeds"
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && mapfile -t targets < <(dotnet "$harness" list | awk '{print $1}')

# Every input runs under a 512 MB managed heap: a reader that allocates what a header declares fails here.
export DOTNET_GCHeapHardLimit=0x20000000
export AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1

summary=$out/summary.md
{
  echo "# Fuzzing run $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"); $(afl-fuzz -h 2>&1 | grep -o 'afl-fuzz++[0-9.a-z]*' | head -1); SharpFuzz 2.3.0."
  echo "Per target: ${secs} s of fuzzing, ${timeout_ms} ms per-input limit, 512 MB managed heap."
  echo
  echo "| target | run time (s) | executions | execs/s | corpus paths | crashes | hangs |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} > "$summary"
findings=$out/findings.txt
: > "$findings"

stat() { awk -F' *: *' -v k="$2" '$1==k {print $2}' "$1"; }

for t in "${targets[@]}"; do
  echo "== $t: ${secs} s"
  dir=$out/$t
  timeout $((secs + 300)) afl-fuzz -i "$out/seeds/$t" -o "$dir" -t "$timeout_ms" -m none -V "$secs" \
    -- dotnet "$harness" "$t" > "$out/$t.log" 2>&1 || echo "   afl-fuzz exited with $? (see $out/$t.log)"
  s=$dir/default/fuzzer_stats
  if [[ -f $s ]]; then
    echo "| $t | $(stat "$s" run_time) | $(stat "$s" execs_done) | $(stat "$s" execs_per_sec) | $(stat "$s" corpus_count) | $(stat "$s" saved_crashes) | $(stat "$s" saved_hangs) |" >> "$summary"
  else
    echo "| $t | – | – | – | – | – | – |" >> "$summary"
  fi
  # Replay what afl-fuzz kept: each file is run once by the harness, which names the exception.
  for f in "$dir"/default/crashes/id:* "$dir"/default/hangs/id:*; do
    [[ -e $f ]] || continue
    result=$( { timeout 120 dotnet "$harness" "$t" "$f" 2>&1 || true; } | grep -m1 -E 'FINDING|accepted|refused|Unhandled' || true)
    result=${result#"$f: "}
    echo "$t $(basename "$(dirname "$f")")/${f##*/id:}: ${result:-no result in 120 s (hang)}" | cut -c1-400 >> "$findings"
  done
done

{
  echo
  if [[ -s $findings ]]; then echo "Replayed crashes and hangs:"; echo; sed 's/^/- /' "$findings"; else echo "No crashes or hangs."; fi
} >> "$summary"
cat "$summary"
