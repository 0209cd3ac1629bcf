"""Top entries of a py-spy profile in raw (collapsed stacks) format.

Each line of the file is `frame;frame;...;leaf count`, a frame being `function (file:line)`.
"Self" counts samples whose leaf is the function; "total" counts samples with the function
anywhere on the stack. Lines are merged per function and file, ignoring line numbers.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from typing import Any

_LINE = re.compile(r":\d+\)$")


def _name(frame: str) -> str:
    frame = _LINE.sub(")", frame.strip())
    # Shorten site-packages paths: "write (tornado/iostream.py)".
    return re.sub(r"\(.*?(?:site-packages|lib/python3\.\d+)/", "(", frame)


def top_entries(path: str, count: int = 15) -> dict[str, Any]:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    idle = 0
    with open(path) as file:
        for line in file:
            stack, _, number = line.rstrip("\n").rpartition(" ")
            if not stack or not number.isdigit():
                continue
            n = int(number)
            frames = [_name(f) for f in stack.split(";") if f]
            samples += n
            if not frames:
                continue
            leaf = frames[-1]
            if leaf.startswith(("select (", "poll (", "epoll", "_worker (", "wait (")):
                idle += n
            own[leaf] += n
            for name in set(frames):
                total[name] += n
    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / samples, 1)) for name, n in counter.most_common(count)]
    return {"samples": samples, "idle_percent": round(100 * idle / samples, 1) if samples else 0,
            "self_percent": share(own), "total_percent": share(total)}


if __name__ == "__main__":
    import json
    print(json.dumps(top_entries(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15),
                     indent=1))
