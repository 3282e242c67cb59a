"""``python -m bench [NAME ...]``: run the registered benchmarks, one JSON line per metric."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback

import bench
from bench.registry import Metric, registered
from transit.cli import (
    EXIT_STATUS_HELP,
    add_output_arguments,
    common_parser,
    log_level_from_args,
    open_output,
    prog_name,
    setup_logging,
)


def _load_all() -> None:
    for mod in pkgutil.iter_modules(bench.__path__):
        if mod.name.startswith("bench_"):
            importlib.import_module(f"bench.{mod.name}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=prog_name("python -m bench"), description=__doc__,
                                 parents=[common_parser()], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="examples:\n  rettid-bench --list\n  rettid-bench gnss_decode -o gnss.jsonl\n\n"
                                 + EXIT_STATUS_HELP.replace("a failed check", "a metric not ok"))
    ap.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    add_output_arguments(ap, help="also write the metrics (JSON Lines) to this file")
    args = ap.parse_args(argv)
    setup_logging(log_level_from_args(args))
    _load_all()
    reg = registered()
    if args.list:
        for name in sorted(reg):
            print(name)
        return 0
    unknown = [n for n in args.names if n not in reg]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(sorted(reg))}", file=sys.stderr)
        return 2
    names = args.names or sorted(reg)
    metrics: list[Metric] = []
    failed: list[str] = []
    for name in names:
        t0 = time.monotonic()
        print(f"# running {name} ...", file=sys.stderr, flush=True)
        try:
            got = reg[name]()
        except Exception:  # a broken benchmark must not hide the others' results
            traceback.print_exc()
            failed.append(name)
            continue
        for m in got:
            print(m.to_json(), flush=True)
        metrics.extend(got)
        if args.out is not None:
            with open_output(args) as fh:  # rewritten whole after each benchmark: a crash keeps the rest
                fh.writelines(m.to_json() + "\n" for m in metrics)
        print(f"# {name} took {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
    ok = sum(1 for m in metrics if m.ok)
    summary = {"summary": True, "metrics": len(metrics), "ok": ok, "not_ok": len(metrics) - ok,
               "errors": failed, "not_ok_metrics": [m.metric for m in metrics if not m.ok]}
    print(json.dumps(summary))
    return 0 if ok == len(metrics) and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
