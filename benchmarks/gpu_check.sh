#!/usr/bin/env bash
# GPU check for a lent GPU machine (no network there). From the repo root:
#
#   bash benchmarks/fetch_gpu_wheels.sh          # here, with network: fills .whl/
#   bash benchmarks/gpu_check.sh                 # there, with .whl carried along
#
# 1. installs the carried wheels (.whl/: array-api-compat, array-api-extra,
#    flash-kmeans, tqdm) into /tmp/site, and puts it and the repo on PYTHONPATH;
# 2. prints the card (nvidia-smi) and the library versions;
# 3. runs the test suite on the GPU backends: pytest --backends cupy,torch_cuda tests
#    (default set, then the slow set; on PYTEST_WORKERS=8 processes when
#    pytest-xdist is there) and prints, per backend, how many tests ran,
#    passed and skipped, with the skip reasons (benchmarks/pytest_summary.py);
# 4. runs benchmarks/bench_gpu.py (the three issue-4 shapes, then n up to 1e7);
# 5. profiles a Lloyd fit on torch CUDA (benchmarks/profile_gpu.py);
# 6. prints one short table.
# Logs and results go to $OUT when it is set, else benchmarks/out/gpu.
# Time caps (seconds, environment): PYTEST_TIMEOUT=180, PYTEST_SLOW_TIMEOUT=120,
# BENCH_TIMEOUT=300, PROFILE_TIMEOUT=90,
# BENCH_BUDGET=200 (bench_gpu.py starts no new shape after it). Whole run: < 11 min.
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
             "flash_kmeans", "pytest", "xdist", "hypothesis", "sklearn", "scipy", "numba",
             "kmeans_xp"):
    try:
        mod = importlib.import_module(name)
        print(f"{name} {getattr(mod, '__version__', '?')}")
    except Exception as exc:
        print(f"{name}: not importable ({type(exc).__name__}: {exc})")
PYEOF

# pytest-xdist (in the GPU image) runs the matrix on PYTEST_WORKERS processes
XDIST=()
if "$PY" -c "import xdist" 2>/dev/null; then XDIST=(-n "${PYTEST_WORKERS:-8}"); fi

step "pytest --backends cupy,torch_cuda tests ${XDIST[*]} (log: $LOG/pytest.log)"
timeout "${PYTEST_TIMEOUT:-180}" "$PY" -m pytest -q -p no:cacheprovider -ra "${XDIST[@]}" \
    --backends cupy,torch_cuda --junitxml="$LOG/pytest.xml" tests > "$LOG/pytest.log" 2>&1
PYTEST_RC=$?
tail -n 25 "$LOG/pytest.log"

step "pytest -m slow --backends cupy,torch_cuda tests (log: $LOG/pytest_slow.log)"
timeout "${PYTEST_SLOW_TIMEOUT:-120}" "$PY" -m pytest -q -p no:cacheprovider -ra "${XDIST[@]}" \
    -m slow --backends cupy,torch_cuda --junitxml="$LOG/pytest_slow.xml" tests \
    > "$LOG/pytest_slow.log" 2>&1
PYTEST_SLOW_RC=$?
tail -n 8 "$LOG/pytest_slow.log"

step "tests per backend: ran, passed, skipped (and why)"
XMLS=()
for x in "$LOG/pytest.xml" "$LOG/pytest_slow.xml"; do [ -f "$x" ] && XMLS+=("$x"); done
if [ ${#XMLS[@]} -gt 0 ]; then
    "$PY" benchmarks/pytest_summary.py "${XMLS[@]}" | tee "$LOG/pytest_summary.txt"
else
    echo "no JUnit report (pytest stopped by its timeout?)"
fi

step "bench_gpu.py (log: $LOG/bench_gpu.log)"
timeout "${BENCH_TIMEOUT:-300}" "$PY" benchmarks/bench_gpu.py --scaling \
    --budget "${BENCH_BUDGET:-200}" --out "$LOG" > "$LOG/bench_gpu.log" 2>&1
BENCH_RC=$?
grep -E '^- ' "$LOG/bench_gpu.md" 2>/dev/null | tail -n 8
sed -n '/^## Targets/,/^$/p;/^| target/,/^$/p' "$LOG/bench_gpu.md" 2>/dev/null | awk '!seen[$0]++'

step "profile_gpu.py: where an iteration's time goes (log: $LOG/profile_gpu.log)"
timeout "${PROFILE_TIMEOUT:-90}" "$PY" benchmarks/profile_gpu.py --shape 1000000x32x64 \
    --shape 1000000x128x1024 > "$LOG/profile_gpu.log" 2>&1
PROFILE_RC=$?
grep -A 16 "^== " "$LOG/profile_gpu.log" | cut -c 1-150

step "summary"
echo "pytest rc=$PYTEST_RC ($(tail -n 1 "$LOG/pytest.log")) (124 = stopped by PYTEST_TIMEOUT)"
echo "pytest -m slow rc=$PYTEST_SLOW_RC ($(tail -n 1 "$LOG/pytest_slow.log"))"
echo "bench_gpu rc=$BENCH_RC (124 = stopped by BENCH_TIMEOUT; partial results are kept)"
echo "profile_gpu rc=$PROFILE_RC"
echo "card: $(head -n 1 "$LOG/card.txt")"
cat "$LOG/bench_gpu_short.md" 2>/dev/null || echo "no bench_gpu_short.md"
exit 0
