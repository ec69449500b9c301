#!/bin/bash
# One prepared call on a lent GPU machine (Python 3.12 with PyTorch, no Ray): issue 11's figures in about 7
# minutes of an H200. Results go under $OUT (the device tool's folder; a local folder elsewhere).
#
# Here first:  echo /.gpu/ >> .git/info/exclude && ../shared/gpu-kit/pack.sh .gpu     (Ray, Optuna, pydantic)
# Then, through the device tool, carrying .gpu:  BUDGET=440 bash benchmarks/gpu_session.sh
# BUDGET is the seconds the call may take; each part gets what is left, the most important first. Without
# .gpu/site.tar.xz it uses the Python it finds (PYTHON, default python3), e.g. `PYTHON=.venv/bin/python` here,
# where bench_gpu.py runs its reduced CPU version.
set -u
OUT=$(realpath -m "${OUT:-gpu-results}")
mkdir -p "$OUT"
start=$(date +%s)
left() { echo $(( ${BUDGET:-440} - ($(date +%s) - start) )); }
if [ -f .gpu/site.tar.xz ]; then
  mkdir -p /tmp/site && tar -C /tmp/site -xJf .gpu/site.tar.xz || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
export RAY_AUTH_MODE=disabled PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/machine.txt" 2>&1
P=${PYTHON:-python3}
B=benchmarks/bench_gpu.py
# 1. The mini run (8 trials, 6 epochs, GradMatch 10%, --baseline) at a quarter GPU per trial: about 4 minutes.
timeout $(( $(left) - 170 )) $P $B --parts runs --gpu-shares ${SHARES:-0.25} --output /tmp/runs 2>&1 | tee "$OUT/runs.md"
(cd /tmp/runs && tar czf "$OUT/runs.tgz" --exclude='*.pt' --exclude='*.pkl' --exclude='checkpoint_*' .) 2>/dev/null
# 2. The trainer's table: epochs, validation and one selection per strategy at 10%, in bf16.
timeout $(( $(left) - 100 )) $P $B --parts table --fractions 0.1 --repeats 2 --precisions bf16 \
  --strategies gradmatch glister craig random 2>&1 | tee "$OUT/table.md"
# 3. Does torch.compile pay (default, and reduce-overhead's CUDA graphs) at batch 128, where a step is bound by
#    kernel launches, and at 512? Full-data epochs, bf16.
timeout $(( $(left) - 60 )) $P $B --parts compile --compile-batches 128 512 --precisions bf16 --repeats 2 2>&1 \
  | tee "$OUT/compile.md"
# 4. How hard the data is for the model: the full data for 6 epochs.
timeout $(( $(left) - 35 )) $P $B --parts difficulty --difficulty "" 2>&1 | tee "$OUT/difficulty.md"
# 5. A trial worker's start, phase by phase, four at once.
timeout $(( $(left) - 2 )) $P $B --parts startup --slots 4 2>&1 | tee "$OUT/startup.md"
echo "done in $(( $(date +%s) - start )) s"
