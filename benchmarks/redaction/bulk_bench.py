"""Bulk redaction of a folder: one process, `--workers 2` (a process pool), and a Dask
`LocalCluster` of 1, 2 and 4 workers, on the same files, each run in a fresh process from a cold
start (the model load per worker is part of the cost, as it is for a real job).

The folder holds `-n` conversations of the French set (`generate_fr.py`, fixed seed), one JSON
lines file each. Prints seconds and files/s for each way, and each against one process.

    .venv/bin/python benchmarks/redaction/bulk_bench.py [-n 2000] [--cluster-workers 1 2 4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate_fr


def _folder(n: int) -> Path:
    root = Path(tempfile.mkdtemp(prefix="tessera-bulk-")) / "in"
    root.mkdir()
    for sample in generate_fr.generate(n):
        lines = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in sample.turns)
        (root / f"{sample.id}.jsonl").write_text(lines, encoding="utf-8")
    return root


def _timed(source: Path, **kw: object) -> float:
    """Seconds for a fresh process to redact the folder this way (its imports not counted)."""
    code = (
        "import json, sys, time; from pathlib import Path\n"
        "from tessera.trust.redaction import RedactionJob\n"
        "source, output, kw = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])\n"
        "began = time.perf_counter()\n"
        "outcomes = RedactionJob(source, output, **kw).run()\n"
        "assert all(o.status == 'redacted' for o in outcomes)\n"
        "print(time.perf_counter() - began)\n"
    )
    output = source.parent / f"out-{time.monotonic_ns()}"
    done = subprocess.run(
        [sys.executable, "-c", code, str(source), str(output), json.dumps(kw)],
        capture_output=True,
        text=True,
        check=True,
    )
    shutil.rmtree(output)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="files (one conversation each)")
    parser.add_argument("--cluster-workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    source = _folder(args.n)
    runs: list[tuple[str, float]] = []
    runs.append(("one process", _timed(source)))
    runs.append(("--workers 2 (process pool)", _timed(source, workers=2)))
    for workers in args.cluster_workers:
        runs.append(
            (
                f"--cluster local, {workers} workers",
                _timed(source, workers=workers, cluster="local"),
            )
        )
    base = runs[0][1]
    print(f"{args.n} files, {os.cpu_count()} cores; each run from a cold start of its workers")
    print(f"{'way':34}{'seconds':>9}{'files/s':>9}{'vs one':>8}")
    for name, seconds in runs:
        print(f"{name:34}{seconds:>9.1f}{args.n / seconds:>9.1f}{base / seconds:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
