#!/usr/bin/env bash
# GPU check for a lent GPU machine (no network there). From the repo root:
#
#   bash benchmarks/fetch_gpu_wheels.sh          # here, with network: fills .whl/
#   bash benchmarks/gpu_check.sh                 # there, with .whl carried along
#
# 1. installs the carried wheels (.whl/: array-api-compat, array-api-extra,
#    flash-kmeans, tqdm) into /tmp/site, and puts it and the repo on PYTHONPATH;
# 2. prints the card (nvidia-smi) and the library versions;
# 3. runs the test suite on the GPU backends: pytest --backends cupy,torch_cuda tests;
# 4. runs benchmarks/bench_gpu.py (the three issue-4 shapes, then n up to 1e7);
# 5. prints one short table.
# Logs and results go to $OUT when it is set, else benchmarks/out/gpu.
# Time caps (seconds, environment): PYTEST_TIMEOUT=180, BENCH_TIMEOUT=300,
# BENCH_BUDGET=200 (bench_gpu.py starts no new shape after it). Whole run: < 9 min.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
LOG=${OUT:-benchmarks/out/gpu}
SITE=${SITE:-/tmp/site}
mkdir -p "$LOG"
T0=$(date +%s)
step() { echo; echo "== $* [$(( $(date +%s) - T0 )) s]"; }

step "install carried wheels into $SITE"
if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .whl/*.whl 2>&1 | tail -3
    ls -1 .whl
else
    echo "no .whl/*.whl here: run benchmarks/fetch_gpu_wheels.sh and carry .whl" >&2
fi
export PYTHONPATH=$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}

step "card"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$LOG/card.txt"
"$PY" - <<'PYEOF' 2>&1 | tee -a "$LOG/card.txt"
import importlib, platform
print("python", platform.python_version())
for name in ("numpy", "cupy", "torch", "triton", "jax", "array_api_compat", "array_api_extra",
             "flash_kmeans", "pytest", "kmeans_xp"):
    try:
        mod = importlib.import_module(name)
        print(f"{name} {getattr(mod, '__version__', '?')}")
    except Exception as exc:
        print(f"{name}: not importable ({type(exc).__name__}: {exc})")
PYEOF

step "pytest --backends cupy,torch_cuda tests (log: $LOG/pytest.log)"
timeout "${PYTEST_TIMEOUT:-180}" "$PY" -m pytest -q -p no:cacheprovider -ra \
    --backends cupy,torch_cuda tests > "$LOG/pytest.log" 2>&1
PYTEST_RC=$?
tail -n 25 "$LOG/pytest.log"

step "bench_gpu.py (log: $LOG/bench_gpu.log)"
timeout "${BENCH_TIMEOUT:-300}" "$PY" benchmarks/bench_gpu.py --scaling \
    --budget "${BENCH_BUDGET:-200}" --out "$LOG" > "$LOG/bench_gpu.log" 2>&1
BENCH_RC=$?
grep -E '^- ' "$LOG/bench_gpu.md" 2>/dev/null | tail -n 8
sed -n '/^## Targets/,/^$/p;/^| target/,/^$/p' "$LOG/bench_gpu.md" 2>/dev/null | awk '!seen[$0]++'

step "summary"
echo "pytest rc=$PYTEST_RC ($(tail -n 1 "$LOG/pytest.log"))"
echo "bench_gpu rc=$BENCH_RC (124 = stopped by BENCH_TIMEOUT; partial results are kept)"
echo "card: $(head -n 1 "$LOG/card.txt")"
cat "$LOG/bench_gpu_short.md" 2>/dev/null || echo "no bench_gpu_short.md"
exit 0
