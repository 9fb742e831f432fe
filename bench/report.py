"""The benchmark results for people: a rich table against the targets, then the details."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

UNITS = {"_s": " s", "_ratio": "×", "_speedup": "×"}


def _value(key: str, value) -> str:
    if value is None:
        return "not run"
    unit = next((u for suffix, u in UNITS.items() if key.endswith(suffix)), "")
    return f"{value:g}{unit}" if isinstance(value, (int, float)) else str(value)


def headline_table(result: dict) -> Table:
    from bench.__main__ import HEADLINES

    table = Table(title=f"nava-director benchmarks ({result['mode']})")
    for column in ("measure", "value", "target", "met"):
        table.add_column(column)
    for key in HEADLINES:
        target = result.get("targets", {}).get(key)
        met = "" if target is None else ("[green]yes[/]" if target["met"] else "[red]no[/]")
        table.add_row(key, _value(key, result[key]), target["target"] if target else "", met)
    return table


def forward_table(forward: dict) -> Table:
    table = Table(title=f"forward: {forward['flops'] / 1e9:,.1f} GFLOP ({forward['config']})")
    table.add_column("FLOP term")
    table.add_column("GFLOP", justify="right")
    for group, flops in forward["flops_by_group"].items():
        table.add_row(group, f"{flops / 1e9:,.1f}")
    table.add_section()
    table.add_row("forward (best)", f"{forward['forward_s']} s = {forward['forward_tflops']} TFLOP/s")
    table.add_row("bare matmul, same shapes (best)", f"{forward['matmul_s']} s = {forward['matmul_tflops']} TFLOP/s")
    for threads, best in forward["by_threads"].items():
        table.add_row(f"{threads} thread(s): forward / matmul", f"{best['forward_s']} s / {best['matmul_s']} s")
    table.add_section()
    for kind, seconds in forward["profile"]["by_kind_s"].items():
        table.add_row(f"profiler ({forward['profile']['threads']} thread(s)): {kind}", f"{seconds} s")
    return table


def gpu_table(paper: dict) -> Table:
    tokens = paper["tokens"]
    table = Table(
        title=(
            f"on paper: {paper['clip']['width']}x{paper['clip']['height']}, {paper['clip']['frames']} frames"
            f" ({tokens['video']:,} video + {tokens['audio']} audio tokens)"
        )
    )
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("FLOPs per forward", f"{paper['flops_per_forward'] / 1e12:,.1f} T")
    table.add_row(
        f"FLOPs per render ({paper['steps']} steps × {paper['passes_per_step']} passes)",
        f"{paper['flops_per_render'] / 1e15:,.1f} P",
    )
    for name, gpu in paper["gpus"].items():
        table.add_row(
            f"{name} at {gpu['bf16_dense_tflops']} TFLOP/s",
            f"{gpu['forward_s_at_peak']} s / forward, {gpu['render_s_at_peak']} s / render",
        )
    return table


def markdown(result: dict) -> str:
    """The headline numbers as a Markdown table (for the README)."""
    from bench.__main__ import HEADLINES

    lines = ["| measure | value | target |", "| --- | --- | --- |"]
    for key in HEADLINES:
        target = result.get("targets", {}).get(key)
        lines.append(f"| `{key}` | {_value(key, result[key])} | {target['target'] if target else ''} |")
    if result.get("gpu_paper"):
        paper = result["gpu_paper"]
        for name, gpu in paper["gpus"].items():
            lines.append(f"| 50-step render at {name} bf16 peak (paper) | {gpu['render_s_at_peak']} s | |")
    return "\n".join(lines)


def print_human(result: dict) -> None:
    console = Console()
    console.print(headline_table(result))
    m = result["machine"]
    console.print(
        f"machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads), {m['ram_gib']} GiB,"
        f" torch {m['torch']}, load average {m['load_average_at_start']} → {m.get('load_average_at_end')}"
    )
    details = result["details"]
    if "forward" in details:
        console.print(forward_table(details["forward"]))
        console.print("profiler, top operators (self time, s):", details["forward"]["profile"]["top_ops_s"])
    if "load" in details:
        load = details["load"]
        console.print(
            f"load: {load['tensor_bytes'] / 1e9:.2f} GB of tensors, peak RSS {load['peak_rss_bytes'] / 1e9:.2f} GB;"
            f" read {load['read_s']} s, load {load['load_s']} s + first touch {load['first_touch_s']} s"
        )
        console.print(load["note"], style="dim")
    for name in ("rerender", "join"):
        if name in details:
            console.print(f"{name}:", details[name])
    if result.get("gpu_paper"):
        console.print(gpu_table(result["gpu_paper"]))
