#!/usr/bin/env python3
"""Per-backend counts of a pytest JUnit XML report: ran, passed, failed, skipped.

    python benchmarks/pytest_summary.py report.xml [more.xml ...]

A test's backend is the part of its parameter id that names one of the
conftest's backends (``test_fit[cupy-float32]`` -> cupy); tests without one
are counted under "(no backend)". Skips are listed by reason, most frequent
first, and every failure and error by name, so a GPU matrix that mostly skips
shows it.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict

BACKENDS = ("numpy", "array_api_strict", "torch_cuda", "torch", "jax", "dask", "cupy")


def backend_of(name: str) -> str:
    match = re.search(r"\[(.*)\]$", name)
    if match:
        parts = match.group(1).split("-")
        for backend in BACKENDS:
            if backend in parts:
                return backend
    return "(no backend)"


def main(paths: list[str]) -> int:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    failed: list[str] = []
    for path in paths:
        for case in ET.parse(path).getroot().iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            backend = backend_of(case.get("name", ""))
            outcome = "passed"
            for child in case:
                if child.tag == "skipped":
                    outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
                    reason = (child.get("message") or "").strip()
                    reasons[backend][reason[:160]] += 1
                elif child.tag in ("failure", "error"):
                    outcome = "failed" if child.tag == "failure" else "error"
                    message = (child.get("message") or "").strip().splitlines()
                    failed.append(f"{outcome}: {name}: {message[0][:200] if message else ''}")
            counts[backend][outcome] += 1
    print(
        f"{'backend':<14} {'ran':>5} {'passed':>6} {'failed':>6} {'error':>5} {'skipped':>7} "
        f"{'xfailed':>7}"
    )
    for backend in sorted(counts):
        c = counts[backend]
        ran = c["passed"] + c["failed"] + c["error"]
        print(
            f"{backend:<14} {ran:>5} {c['passed']:>6} {c['failed']:>6} {c['error']:>5} "
            f"{c['skipped']:>7} {c['xfailed']:>7}"
        )
    for backend in sorted(reasons):
        print(f"\nskip reasons, {backend}:")
        for reason, n in reasons[backend].most_common(8):
            print(f"  {n:>4}  {reason}")
    if failed:
        print(f"\n{len(failed)} failed or errored:")
        for line in failed:
            print("  " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
