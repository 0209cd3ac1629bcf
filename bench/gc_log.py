"""The server's garbage collections during a measured window (`--gc`, Python targets).

The probe in bench/gc_probe/sitecustomize.py appends one line per collection to a file; each
window then carries `server_gc`: per generation, how many collections ended in it, their
total and longest pause, and the largest young generation a young collection found. A pause
stops every connection of the process at once, so a few long ones decide a p99.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROBE_DIR = Path(__file__).resolve().parent / "gc_probe"


def environment(log_path: Path) -> dict[str, str]:
    """The environment variables that load the probe into a Python process started with them
    (added to the rest of its environment)."""
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": str(PROBE_DIR) + (os.pathsep + path if path else ""),
            "BENCH_GC_LOG": str(log_path)}


def summarize(log_path: Path, since: float, until: float) -> dict[str, Any]:
    """The collections that ended between wall-clock times `since` and `until`."""
    per_generation: dict[str, dict[str, Any]] = {}
    try:
        lines = log_path.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        fields = line.split()
        if len(fields) != 5:
            continue  # a line being written as the file was read
        ended, generation, milliseconds, _, young = (
            float(fields[0]), fields[1], float(fields[2]), fields[3], int(fields[4]))
        if not since <= ended <= until:
            continue
        entry = per_generation.setdefault(f"gen{generation}", {
            "count": 0, "total_ms": 0.0, "max_ms": 0.0})
        entry["count"] += 1
        entry["total_ms"] += milliseconds
        entry["max_ms"] = max(entry["max_ms"], milliseconds)
        if young >= 0:
            entry["max_young_objects"] = max(entry.get("max_young_objects", 0), young)
    for entry in per_generation.values():
        entry["total_ms"] = round(entry["total_ms"], 1)
        entry["max_ms"] = round(entry["max_ms"], 1)
    return dict(sorted(per_generation.items()))
