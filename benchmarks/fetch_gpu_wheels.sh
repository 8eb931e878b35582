#!/usr/bin/env bash
# Download into .whl/ (repo root, git-ignored) the wheels that the GPU machine
# needs and does not have: it has no network, and its image has CuPy, torch,
# JAX and pytest but not array-api-compat / array-api-extra. Also flash-kmeans
# (pure Python; Triton comes with torch there) and tqdm, which flash-kmeans'
# Triton path imports, when they exist on PyPI.
#
#   bash benchmarks/fetch_gpu_wheels.sh        # then carry ".whl" to the GPU run
#
# Versions: the ones installed in this environment (so the GPU run tests what
# the CPU tests use), else the newest; override with ARRAY_API_COMPAT_VERSION,
# ARRAY_API_EXTRA_VERSION, FLASH_KMEANS_VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ]; then PY=.venv/bin/python; fi
mkdir -p .whl

installed() {  # installed version of a distribution, or nothing
    "$PY" - "$1" <<'PYEOF' 2>/dev/null || true
import sys
from importlib import metadata
try:
    print(metadata.version(sys.argv[1]))
except metadata.PackageNotFoundError:
    pass
PYEOF
}

spec() {  # NAME, or NAME==VERSION when a version is known
    local name=$1 version=$2
    if [ -n "$version" ]; then echo "$name==$version"; else echo "$name"; fi
}

COMPAT=${ARRAY_API_COMPAT_VERSION:-$(installed array-api-compat)}
EXTRA=${ARRAY_API_EXTRA_VERSION:-$(installed array-api-extra)}

# pure-Python (py3-none-any) wheels: no platform flags needed
"$PY" -m pip download -q --no-deps --only-binary=:all: -d .whl \
    "$(spec array-api-compat "$COMPAT")" "$(spec array-api-extra "$EXTRA")"

# optional: flash-kmeans (and tqdm, which its Triton code imports); skipped
# with a note when PyPI does not have them
for pkg in "$(spec flash-kmeans "${FLASH_KMEANS_VERSION:-}")" tqdm; do
    if ! "$PY" -m pip download -q --no-deps --only-binary=:all: -d .whl "$pkg"; then
        echo "note: $pkg not found on the package index: skipped (bench_gpu.py reports it as skipped)" >&2
    fi
done

# A binary wheel for the GPU image's Python would follow this pattern:
#   "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#       --platform manylinux2014_x86_64 -d .whl NAME==VERSION
echo "wheels in .whl/:"
ls -1 .whl
