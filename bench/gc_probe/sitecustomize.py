"""The load tool's garbage-collection probe, loaded into a Python target at start-up (its
directory goes first on PYTHONPATH when `--gc` is given; see bench/gc_log.py).

When BENCH_GC_LOG names a file, every collection of the cyclic garbage collector appends one
line to it: wall-clock time at its end, generation, milliseconds, objects collected, and the
objects in the youngest generation when it started (young collections only, else -1).
Another `sitecustomize` further down the path is still run.
"""

import gc
import os
import sys
import time


def _install(path: str) -> None:
    log = open(path, "a", buffering=1)
    started = [0.0, -1]

    def on_collection(phase: str, info: dict) -> None:
        if phase == "start":
            started[1] = len(gc.get_objects(0)) if info["generation"] == 0 else -1
            started[0] = time.perf_counter()
            return
        milliseconds = (time.perf_counter() - started[0]) * 1000
        log.write(f"{time.time():.4f} {info['generation']} {milliseconds:.3f} "
                  f"{info['collected']} {started[1]}\n")

    gc.callbacks.append(on_collection)


def _chain() -> None:
    """Run the next `sitecustomize` on the path, if there is one (a venv's, a distro's)."""
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    import importlib.machinery
    import importlib.util
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


if os.environ.get("BENCH_GC_LOG"):
    _install(os.environ["BENCH_GC_LOG"])
_chain()
