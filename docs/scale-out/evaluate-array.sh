#!/bin/bash
# One robustness evaluation as a Slurm job array: task i runs shard i of 8 (SLURM_ARRAY_TASK_ID) and writes
# shards/shard-i.json. Slurm schedules and places the tasks; a failed task is simply run again
# (sbatch --array=<i> evaluate-array.sh). Then merge:  dq report merge shards/shard-*.json -o report.json
# Submit from the folder holding model.zip, the IDX data in fashion/ and an empty shards/ folder:
#   sbatch evaluate-array.sh
#SBATCH --job-name=dq-evaluate
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --output=shards/slurm-%A_%a.log
set -euo pipefail
SHARDS=8   # keep equal to the size of --array above
export OMP_WAIT_POLICY=PASSIVE
export DOTNET_JITMinOpts=1   # keeps TorchSharp's temporary scalars alive during native calls (docs/reliability.md)
dq evaluate model.zip --data fashion --limit 10000 --eps 0.031,0.062 --seed 0 --threads "${SLURM_CPUS_PER_TASK:-2}" \
  --shard "auto/${SHARDS}" --shard-layout stride -o "shards/shard-${SLURM_ARRAY_TASK_ID}.json"
