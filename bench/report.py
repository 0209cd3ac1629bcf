"""Markdown summaries of `compare` rounds: medians per target and per-round ratios."""

from __future__ import annotations

import math
import statistics
from typing import Any, Callable

from bench.generators import GENERATOR_LIMIT

Getter = Callable[[dict[str, Any]], Any]


def _get(*path: str) -> Getter:
    def get(result: dict[str, Any]) -> Any:
        value: Any = result
        for key in path:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value
    return get


def _error_count(result: dict[str, Any]) -> int:
    return sum((result.get("errors") or {}).values()) + result.get("server_error_lines", 0)


#: (row label, getter, whether to print a ratio) for each mode.
METRICS: dict[str, list[tuple[str, Getter, bool]]] = {
    "fixed": [
        ("state msgs/s achieved", _get("window", "state_msgs_per_s"), True),
        ("p50 ms", _get("window", "p50_ms"), True),
        ("p90 ms", _get("window", "p90_ms"), True),
        ("p99 ms", _get("window", "p99_ms"), True),
        ("max ms", _get("window", "max_ms"), True),
        ("server CPU (cores)", _get("window", "server_cpu"), True),
        ("server RSS MB", _get("window", "server_rss_mb"), True),
        ("generator CPU (cores)", _get("window", "generator_cpu"), False),
        ("bytes per state", _get("window", "mean_state_bytes"), False),
        ("lost copies", _get("window", "lost"), False),
        ("errors", _error_count, False),
    ],
    "ramp": [
        ("max msgs/s with p99 <= 50 ms", _get("max_sustained_msgs_per_s"), True),
        ("p99 ms at that step", _get("best_step", "p99_ms"), False),
        ("server CPU at that step", _get("best_step", "server_cpu"), False),
        ("generator CPU at that step", _get("best_step", "generator_cpu"), False),
        ("generator CPU at the failing step", _get("limit_step", "generator_cpu"), False),
        ("bytes per state", _get("best_step", "mean_state_bytes"), False),
        ("errors", _error_count, False),
    ],
    "capacity": [
        ("players with p99 <= 50 ms", _get("capacity_players"), True),
        ("p99 ms at that step", _get("best_step", "p99_ms"), False),
        ("server CPU at that step", _get("best_step", "server_cpu"), False),
        ("server RSS MB at that step", _get("best_step", "server_rss_mb"), True),
        ("generator CPU at that step", _get("best_step", "generator_cpu"), False),
        ("players at the failing step", _get("limit_step", "players"), False),
        ("generator CPU at the failing step", _get("limit_step", "generator_cpu"), False),
        ("seconds in all", _get("seconds_total"), False),
        ("errors", _error_count, False),
    ],
    "idle": [
        ("KiB per idle connection", _get("kib_per_connection"), True),
        ("seconds to open all", _get("open_seconds"), True),
        ("opened", _get("opened"), False),
        ("server RSS after, MB", _get("server_rss_after_mb"), False),
    ],
    "storm": [
        ("seconds until all in", _get("all_in_seconds"), True),
        ("refused or failed", _get("refused"), False),
        ("p99 connect+auth ms", _get("open_p99_ms"), True),
        ("server CPU seconds", _get("server_cpu_seconds"), False),
        ("generator CPU seconds", _get("generator_cpu_seconds"), False),
    ],
}


for _rows in METRICS.values():
    _rows.append(("generator processes", _get("generator_processes"), False))
del _rows


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


def _median(values: list[Any]) -> float | None:
    numbers = [n for n in map(_number, values) if n is not None]
    return statistics.median(numbers) if numbers else None


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def markdown(mode: str, rounds: list[dict[str, dict[str, Any]]], names: list[str],
             reference: str = "sockjs-node") -> str:
    """Medians over rounds; ratios are medians of the per-round ratios to `reference`."""
    others = [name for name in names if name != reference] if reference in names else []
    head = ["metric"] + [f"{name} (median)" for name in names] + \
        [f"{name} / {reference}" for name in others]
    lines = [f"{mode}: {len(rounds)} alternating rounds",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, get, with_ratio in METRICS[mode]:
        row = [label]
        for name in names:
            row.append(_fmt(_median([get(r[name]) for r in rounds if name in r])))
        for name in others:
            if not with_ratio:
                row.append("")
                continue
            ratios = []
            for r in rounds:
                mine, theirs = _number(get(r.get(name, {}))), _number(get(r.get(reference, {})))
                if mine is not None and theirs:
                    ratios.append(mine / theirs)
            row.append(_fmt(_median(ratios)) if ratios else "-")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("per round: " + "; ".join(
        ", ".join(f"{name} {_fmt(_number(METRICS[mode][0][1](r[name])))}" for name in names
                  if name in r) for r in rounds))
    limited = [f"{name} in round {number}" for number, r in enumerate(rounds, 1)
               for name in names if (r.get(name) or {}).get("generator_limited")]
    if limited:
        lines.append("")
        lines.append(f"generator-limited (its CPU reached {GENERATOR_LIMIT} of a core at the "
                     "deciding step; "
                     "the figure may be the generator's, not the server's): "
                     + ", ".join(limited))
    return "\n".join(lines)
