"""``python -m bench [--quick] [--json] [--only NAME,...]``: the benchmarks (docs/architecture.md, "Benchmarks").

Each benchmark is a module with a ``run(**sizes) -> dict``; this runs the chosen ones,
lifts their headline numbers to the top level of one JSON object (``gpu_paper`` as an
object), adds the machine, and prints it (``--json``) or a table against the targets.

``--quick`` runs what fits in about a minute (forward at full width with one block of each
kind, rerender, join, gpu_paper; not load). ``--tiny`` runs everything at toy sizes: a
smoke test of the harness whose numbers mean nothing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HEADLINES = (
    "load_peak_rss_ratio",
    "load_time_vs_read_ratio",
    "forward_vs_matmul_flops_ratio",
    "rerender_noop_50_shots_s",
    "rerender_noop_engine_calls",
    "rerender_edit_one_shot_rendered",
    "join_copy_vs_reencode_speedup",
    "fp8_load_peak_rss_ratio",
    "fp8_forward_time_ratio",
    "fp8_forward_max_abs_diff",
    "activation_bytes_per_token",
    "checks_total_s_per_footage_s",
    "review_open_50x3_s",
)
# (check, wording) per headline that has a target
TARGETS: dict[str, tuple[Callable[[float, dict], bool], str]] = {
    "load_peak_rss_ratio": (lambda v, _: v <= 1.15, "<= 1.15"),
    "fp8_load_peak_rss_ratio": (lambda v, _: v <= 1.15, "<= 1.15"),
    "forward_vs_matmul_flops_ratio": (lambda v, _: v >= 0.7, ">= 0.7"),
    "rerender_noop_50_shots_s": (lambda v, _: v < 2.0, "< 2 s"),
    "rerender_noop_engine_calls": (lambda v, _: v == 0, "0"),
    "review_open_50x3_s": (lambda v, _: v < 1.0, "< 1 s"),
    "rerender_edit_one_shot_rendered": (
        lambda v, d: v == len(d["rerender"]["edited_chain"]),
        "the edited shot's chain",
    ),
}


@dataclass(frozen=True)
class Benchmark:
    """A benchmark module and the sizes it runs at in each mode (None: not run in that mode)."""

    module: str
    full: dict | None = field(default_factory=dict)
    quick: dict | None = field(default_factory=dict)
    tiny: dict | None = field(default_factory=dict)

    def sizes(self, mode: str) -> dict | None:
        return getattr(self, mode)

    def run(self, sizes: dict) -> dict:
        from importlib import import_module

        return import_module(f"bench.{self.module}").run(**sizes)


def benchmarks() -> dict[str, Benchmark]:
    from bench.forward import ForwardCase
    from engine.config import ModelConfig

    tiny_model = ModelConfig.preset("tiny")
    tiny_case = ForwardCase(width=64, height=64, frames=5, audio_tokens=4, text_tokens=8, speakers=1)
    return {
        "load": Benchmark("load", quick=None, tiny=dict(config=tiny_model)),
        "forward": Benchmark(
            "forward", quick=dict(quick=True, rounds=5), tiny=dict(config=tiny_model, case=tiny_case, rounds=1)
        ),
        "rerender": Benchmark("rerender", tiny=dict(shots=10, repeats=1)),
        "join": Benchmark("join", quick=dict(width=320, height=176), tiny=dict(clips=3, width=64, height=32)),
        "gpu_paper": Benchmark("gpu_paper"),
        "fp8": Benchmark("fp8", quick=dict(load_file=False, rounds=2),
                         tiny=dict(config=tiny_model, case=tiny_case, rounds=1)),  # fmt: skip
        "activations": Benchmark("activations", quick=None, tiny=None),
        "checks": Benchmark(
            "checks",
            quick=dict(width=832, height=480, frames=121, repeats=2),
            tiny=dict(width=64, height=32, frames=25, repeats=1),
        ),
        "review": Benchmark("review", quick=None, tiny=dict(shots=10, takes=2, size="64x36", repeats=1)),
        "import_script": Benchmark("import_script", tiny=dict(copies=2)),
    }


def machine(threads: int) -> dict:
    import psutil
    import torch

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": threads,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "os": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "commit": _commit(),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _commit() -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).resolve().parent
    )
    return done.stdout.strip() or None


def run_all(mode: str, only: list[str] | None, threads: int, progress: Callable[[str], None]) -> dict:
    import torch

    torch.set_num_threads(threads)
    chosen = benchmarks()
    unknown = sorted(set(only or ()) - set(chosen))
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(chosen)}")
    result: dict = {key: None for key in HEADLINES}
    result.update(gpu_paper=None, mode=mode, machine=machine(threads), details={})
    for name, bench in chosen.items():
        sizes = bench.sizes(mode)
        if sizes is None or (only and name not in only):
            continue
        progress(name)
        details = bench.run(sizes)
        result["details"][name] = details
        if name == "gpu_paper":
            result["gpu_paper"] = details
        for key in HEADLINES:
            if key in details:
                result[key] = details[key]
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["targets"] = {
        key: {"target": wording, "met": check(result[key], result["details"])}
        for key, (check, wording) in TARGETS.items()
        if result[key] is not None
    }
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="what fits in about a minute (no load)")
    sizes.add_argument("--tiny", action="store_true", help="toy sizes: checks the harness, numbers mean nothing")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only", help="comma-separated: load, forward, rerender, join, gpu_paper, review, checks, fp8, activations")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    parser.add_argument("--save", type=Path, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "tiny" if args.tiny else "full"
    only = [name.strip() for name in args.only.split(",")] if args.only else None

    from bench.report import print_human

    result = run_all(mode, only, args.threads, lambda name: print(f"running {name} …", file=sys.stderr))
    text = json.dumps(result, indent=2)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(text + "\n")
    if args.json:
        print(text)
    else:
        print_human(result)


if __name__ == "__main__":
    main()
