"""Command line of the load tool: `python -m bench run ...` and `python -m bench compare ...`.

    python -m bench run --target game --mode fixed --clients 1000 --pace 2.0 --duration 20
    python -m bench run --target game --mode capacity --clients 2000 --max-clients 30000
    python -m bench compare --mode ramp --clients 1000 --repeat 3 --out ramp.json

`run` starts one target, loads it and prints the results as JSON (and writes them with --out).
`compare` runs the same scenario against several targets, alternating them round by round
(game, sockjs-tornado, sockjs-node, game, ...), and prints a Markdown table of the medians and
of the per-round ratios to sockjs-node. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from bench import modes, targets
from bench.generators import generator_cores
from bench.load import PROTOCOLS
from bench.report import markdown
from bench.wire import TRANSPORTS

#: Capacity mode's defaults where they differ from the other modes'.
CAPACITY_CLIENTS = 2000
CAPACITY_STEP_SECONDS = 20.0
#: Modes that can run the generator as several processes.
SHARDED_MODES = ("fixed", "ramp", "capacity")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="load one target and print the results")
    run.add_argument("--target", choices=targets.TARGETS, default="game")
    compare = commands.add_parser("compare", help="alternate targets, medians and ratios")
    compare.add_argument("--targets", default=",".join(targets.TARGETS),
                         help="comma-separated targets, in the order of each round "
                              "(default: %(default)s)")
    compare.add_argument("--repeat", type=int, default=3, help="rounds (default: 3)")
    defaults = modes.Options()
    for sub in (run, compare):
        sub.add_argument("--mode", choices=sorted(modes.MODES), default="fixed")
        sub.add_argument("--clients", type=int, default=None,
                         help="players (fixed, ramp; capacity: of the first step) or "
                              f"connections (idle, storm); default {defaults.clients}, "
                              f"capacity {CAPACITY_CLIENTS}")
        sub.add_argument("--seats", type=int, default=defaults.seats, choices=range(2, 8),
                         help="seats per table (default: 4)")
        sub.add_argument("--pace", type=float, default=defaults.pace,
                         help="seconds between two moves of one table (fixed)")
        sub.add_argument("--duration", type=float, default=defaults.duration,
                         help="seconds measured (fixed)")
        sub.add_argument("--warmup", type=float, default=defaults.warmup,
                         help="seconds of play before measuring")
        sub.add_argument("--transport", choices=TRANSPORTS + ("mixed",), default="websocket",
                         help="SockJS transport; mixed: the seats of a table cycle through "
                              "all three")
        sub.add_argument("--start-rate", type=float, default=defaults.start_rate,
                         help="ramp: first offered rate, state msgs/s")
        sub.add_argument("--step-factor", type=float, default=defaults.step_factor,
                         help="ramp: rate multiplier per step")
        sub.add_argument("--step-seconds", type=float, default=None,
                         help="ramp, capacity: seconds measured per step (default: ramp "
                              f"{defaults.step_seconds:g}, capacity {CAPACITY_STEP_SECONDS:g})")
        sub.add_argument("--max-rate", type=float, default=defaults.max_rate,
                         help="ramp: stop after this offered rate")
        sub.add_argument("--max-clients", type=int, default=defaults.max_clients,
                         help="capacity: most players tried (also capped by the open-files "
                              "limit)")
        sub.add_argument("--growth", type=float, default=defaults.growth,
                         help="capacity: player count multiplier per step until one fails, "
                              "then bisection")
        sub.add_argument("--time-limit", type=float, default=defaults.time_limit,
                         help="capacity: seconds after which no further step starts")
        sub.add_argument("--generators", type=int, default=defaults.generators,
                         help="load generator processes (fixed, ramp, capacity), each with "
                              "its share of the tables; with more than one they run on "
                              "every core but the server's")
        sub.add_argument("--protocol", type=int, choices=PROTOCOLS, default=defaults.protocol,
                         help="game target: the protocol version sent in auth")
        sub.add_argument("--drain", type=float, default=defaults.drain,
                         help="seconds a window's last states may take before they count lost")
        sub.add_argument("--setup-concurrency", type=int, default=defaults.setup_concurrency,
                         help="tables (or idle connections) set up at once")
        sub.add_argument("--connect-timeout", type=float, default=defaults.connect_timeout)
        sub.add_argument("--server-cpu", type=int, default=0,
                         help="core the target is pinned to (taskset; -1: none)")
        sub.add_argument("--generator-cpu", type=int, default=1,
                         help="core this load generator is pinned to (-1: none)")
        sub.add_argument("--database-url", default=None,
                         help="game target: database (default: a throwaway SQLite file)")
        sub.add_argument("--no-uvloop", action="store_true",
                         help="run the generator on the stock asyncio loop")
        sub.add_argument("--profile", default=None, metavar="FILE",
                         help="fixed mode, python targets: record the server with py-spy "
                              "during the window into FILE (collapsed stacks) and add its "
                              "top entries to the results")
        sub.add_argument("--gc", action="store_true",
                         help="fixed, ramp, capacity; game: log the server's garbage "
                              "collections and add each window's (count, total and longest "
                              "pause per generation) to the results as server_gc")
        sub.add_argument("--quiet", action="store_true")
        sub.add_argument("--out", type=Path, help="also write the results as JSON here")
    return parser


def options_from(args: argparse.Namespace, target: str) -> modes.Options:
    names = {f.name for f in fields(modes.Options)}
    values = {name: getattr(args, name) for name in names if hasattr(args, name)}
    values["target"] = target
    protocol = targets.split_target(target)[1].get("protocol")
    if protocol is not None:
        values["protocol"] = int(protocol)
    values["use_uvloop"] = not getattr(args, "no_uvloop", False)
    capacity = values.get("mode") == "capacity"
    if values.get("clients") is None:
        values["clients"] = CAPACITY_CLIENTS if capacity else modes.Options.clients
    if values.get("step_seconds") is None:
        values["step_seconds"] = CAPACITY_STEP_SECONDS if capacity else \
            modes.Options.step_seconds
    for core in ("server_cpu", "generator_cpu"):
        if values.get(core) is not None and values[core] < 0:
            values[core] = None
    return modes.Options(**values)


def run_once(options: modes.Options, use_uvloop: bool = True) -> dict[str, Any]:
    """One run of one target in a fresh event loop."""
    async def main() -> dict[str, Any]:
        return await modes.MODES[options.mode](options)

    if use_uvloop:
        try:
            import uvloop
            return uvloop.run(main())
        except ImportError:
            pass
    return asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.generators < 1:
        raise SystemExit("--generators must be at least 1")
    if args.generators > 1 and args.mode not in SHARDED_MODES:
        raise SystemExit(f"--generators > 1 works in the modes {', '.join(SHARDED_MODES)}")
    limit = targets.raise_open_files()
    options = options_from(args, getattr(args, "target", "game"))
    # With several generator processes this one only coordinates: it shares their cores.
    cores = {core for core in generator_cores(options) if core is not None}
    targets.pin_self(cores or None)
    per_client = 1 if args.transport == "websocket" else 2
    most = max(options.clients, options.max_clients if args.mode == "capacity" else 0)
    if limit < most * per_client + 100:
        print(f"warning: only {limit} open files allowed", file=sys.stderr)
    if args.command == "run":
        result = run_once(options, not args.no_uvloop)
        text = json.dumps(result, indent=2, default=str)
        print(text)
        for warning in result.get("warnings", []):
            print(f"warning: {warning}", file=sys.stderr)
        if args.out:
            args.out.write_text(text + "\n")
        return 0 if not result.get("errors") else 1
    names = [name.strip() for name in args.targets.split(",") if name.strip()]
    for name in names:
        try:
            targets.split_target(name)
        except ValueError as error:
            raise SystemExit(str(error)) from None
    rounds: list[dict[str, Any]] = []
    for round_number in range(args.repeat):
        results = {}
        for name in names:
            results[name] = run_once(options_from(args, name), not args.no_uvloop)
        rounds.append(results)
        if args.out:
            args.out.write_text(json.dumps({"mode": args.mode, "args": vars(args),
                                            "rounds": rounds}, indent=2, default=str) + "\n")
    print(markdown(args.mode, rounds, names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
