"""Checking a weights folder from the files' headers alone: will every component load?

One :class:`Row` per component (each DiT file present gets its own): the file found, or
where it was looked for; its size, format, dtypes, tensor count against what the engine
expects (the DiT's exact keys and shapes, 1,052 tensors for the 6.3B model, + 380 scales in
the fp8 format; a few keys that identify each other component), and a fingerprint. What is
wrong comes with its fix: missing (the download command), truncated (expected against actual
bytes), another model's file (which keys differ), a pickle that is not weights-only
(refused, never unpickled). Nothing reads tensor bytes: safetensors headers, and the pickles'
``data.pkl`` walked by :mod:`engine.pickle_header`; seconds for tens of GB.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine.component_files import (
    COMPONENTS,
    DOWNLOAD_HINT,
    HEADER_BYTES,
    Search,
    search,
)
from engine.errors import WeightsError

# keys that identify each non-DiT component's file (its released layout, DESIGN §5)
SENTINELS = {
    "video_vae": ("encoder.conv1.weight", "decoder.conv1.weight", "conv1.weight", "conv2.weight"),
    "text_encoder": ("token_embedding.weight", "blocks.0.attn.q.weight", "norm.weight"),
    "audio_vae": ("audio_vae.per_channel_statistics.mean-of-means", "audio_vae.per_channel_statistics.std-of-means"),
    "speaker": (),  # a {'model_config', 'state_dict'} file
}
TOKENIZER_FILES = ("spiece.model", "tokenizer.json")
SHOWN = 4  # keys named per kind of difference


@dataclass
class Row:
    component: str  # dit, video_vae, … (the dit rows: "dit" and, for a second DiT file, "dit (fp8)")
    what: str
    path: str | None = None
    looked_in: str | None = None  # where a missing file was looked for
    size: int | None = None
    format: str | None = None  # safetensors | torch zip | folder
    dtype: str | None = None  # e.g. "BF16" or "F8_E4M3 380, BF16 1052"
    tensors: int | None = None
    expected: int | None = None  # tensors the engine expects (None: identified by a few keys)
    fingerprint: str | None = None
    chosen: bool = True  # the DiT file a render uses (a second DiT file is checked too)
    problem: str | None = None
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class Report:
    folder: str
    rows: list[Row] = field(default_factory=list)
    fingerprint: str = ""  # of every file checked

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    def problems(self) -> list[str]:
        """One line per problem: ``component: what is wrong — the fix``."""
        return [f"{row.component}: {row.problem} — {row.fix}" for row in self.rows if not row.ok]

    def to_json(self) -> dict:
        return {"folder": self.folder, "ok": self.ok, "fingerprint": self.fingerprint,
                "rows": [asdict(r) | {"ok": r.ok} for r in self.rows]}  # fmt: skip


def check(
    folder: str | Path, *, dit: str = "auto", gpu_memory: int | None = None, hub_dir: str | Path | None = None
) -> Report:
    """Check every component of ``folder`` (see the module doc). Raises only for a folder that is not there."""
    found = search(folder, dit=dit, gpu_memory=gpu_memory, hub_dir=hub_dir)
    report = Report(str(found.folder))
    digest = hashlib.sha256()
    for component in COMPONENTS:
        if component.key == "dit" and found.dit_files:
            chosen_first = sorted(found.dit_files.items(), key=lambda item: item[1] != found.dit.path)
            for fmt, path in chosen_first:
                chosen = path == found.dit.path
                label = "dit" if chosen else f"dit ({fmt})"
                row = _dit_row(label, component.what, path, fmt, chosen)
                report.rows.append(row)
            continue
        if component.key in found.missing:
            report.rows.append(_missing_row(component.key, component.what, found))
            continue
        report.rows.append(_component_row(component.key, component.what, found.paths[component.key]))
    for row in report.rows:
        digest.update(f"{row.component}:{row.fingerprint}\n".encode())
    report.fingerprint = digest.hexdigest()[:16]
    return report


def _missing_row(key: str, what: str, found: Search) -> Row:
    message = found.missing[key]
    looked = message.split(" in ", 1)[1] if " in " in message else message
    fetch = DOWNLOAD_HINT.format(folder=found.folder)
    if key == "speaker":
        fetch += " (it fetches the ReDimNet checkpoint too)"
    return Row(key, what, looked_in=looked, problem=f"missing ({message})", fix=f"download it: {fetch}")


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(f"{file.name}:{file.stat().st_size}:".encode())
        with file.open("rb") as f:
            digest.update(f.read(HEADER_BYTES))
    return digest.hexdigest()[:12]


def _base_row(key: str, what: str, path: Path) -> Row:
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    return Row(key, what, path=str(path), size=size, fingerprint=_fingerprint(path))


def _component_row(key: str, what: str, path: Path) -> Row:
    row = _base_row(key, what, path)
    redownload = f"download it again: {DOWNLOAD_HINT.format(folder=path.parent)}"
    try:
        if path.is_dir():
            row.format = "folder"
            if key == "tokenizer":
                if not any((path / name).is_file() for name in TOKENIZER_FILES):
                    row.problem, row.fix = f"no {' or '.join(TOKENIZER_FILES)} in {path}", redownload
            elif not (path / "config.json").is_file():
                row.problem, row.fix = f"{path} has no config.json (not a diffusers/transformers folder)", redownload
            return row
        tensors, dtypes, extra = _read_index(path, row)
        row.tensors, row.dtype = len(tensors), _dtype_summary(dtypes)
        if key == "speaker":
            if not {"model_config", "state_dict"} <= extra:
                row.problem = f"{path.name} is not a ReDimNet checkpoint (no model_config + state_dict)"
                row.fix = redownload
            return row
        if key == "audio_vae" and "config" not in extra:
            row.problem, row.fix = f"{path.name} has no 'config' in its metadata (not the LTX-2.3 audio VAE)", redownload
            return row
        absent = [k for k in SENTINELS[key] if k not in tensors]
        if absent:
            row.problem = f"another model's file: it lacks {', '.join(absent[:SHOWN])}"
            row.fix = f"put the released {path.name} there ({redownload})"
    except WeightsError as exc:
        row.problem, row.fix = exc.message, exc.hint or redownload
    return row


def _dit_row(label: str, what: str, path: Path, fmt: str, chosen: bool) -> Row:
    row = _base_row(label, what, path)
    row.chosen = chosen
    redownload = f"download it again: {DOWNLOAD_HINT.format(folder=path.parent)}" + (" --fp8" if fmt == "fp8" else "")
    try:
        tensors, dtypes, extra = _read_index(path, row)
    except WeightsError as exc:
        row.problem, row.fix = exc.message, exc.hint or redownload
        return row
    shapes = {_strip(k): shape for k, shape in tensors.items()}
    row.tensors, row.dtype = len(shapes), _dtype_summary(dtypes)
    expected = _expected_dit(extra.get("config") if isinstance(extra, dict) else None, fmt)
    row.expected = len(expected)
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    wrong = sorted(k for k in set(expected) & set(shapes) if tuple(expected[k][0]) != tuple(shapes[k]))
    if missing or unexpected or wrong:
        parts = [f"{len(keys)} {label_}: {', '.join(keys[:SHOWN])}{' …' if len(keys) > SHOWN else ''}"
                 for label_, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", wrong)) if keys]  # fmt: skip
        kind = "an fp8 file without its scales" if fmt == "fp8" and any(k.endswith("_scale") for k in missing) else (
            "another model's file")
        row.problem = f"{kind} ({'; '.join(parts)})"
        row.fix = f"put the released {path.name} there ({redownload})"
        return row
    if fmt == "fp8":
        import torch

        names = {torch.float8_e4m3fn: "F8_E4M3", torch.bfloat16: "BF16"}
        off = [k for k, (_, dtype) in expected.items() if dtypes[_raw(k, tensors)] != names[dtype]]
        if off:
            row.problem = f"{len(off)} tensor(s) not in the fp8 format's dtype: {', '.join(off[:SHOWN])}"
            row.fix = f"write it again: nava-director weights quantize NAVA.safetensors {path}"
    return row


def _read_index(path: Path, row: Row) -> tuple[dict[str, tuple[int, ...]], dict[str, str], dict | set]:
    """(key -> shape, key -> dtype, extra) of a file's tensors; extra: safetensors metadata or a
    pickle's top-level keys. Truncation raises with expected against actual bytes."""
    from engine import pickle_header, safetensors_header

    size = path.stat().st_size
    if path.suffix == ".safetensors":
        row.format = "safetensors"
        header = safetensors_header.read_header(path)
        if size < header.expected_size:
            raise WeightsError(f"truncated: {path.name} has {size:,} bytes, its header says {header.expected_size:,}",
                               hint=f"download it again: {DOWNLOAD_HINT.format(folder=path.parent)}")  # fmt: skip
        metadata: dict = dict(header.metadata)
        if "config" in metadata:
            try:
                metadata["config"] = json.loads(metadata["config"])
            except json.JSONDecodeError:
                pass
        return ({k: e.shape for k, e in header.tensors.items()}, {k: e.dtype for k, e in header.tensors.items()},
                metadata)  # fmt: skip
    row.format = "torch zip"
    try:
        contents = pickle_header.read_pickle(path)
    except pickle_header.UnsafePickle as exc:
        raise WeightsError(f"refused: {exc.message} (not unpickled)", hint=exc.hint) from exc
    short = contents.short_storages()
    if short:
        key, want, have = short[0]
        raise WeightsError(f"truncated: storage {key} of {path.name} has {have:,} of its {want:,} bytes",
                           hint=f"download it again: {DOWNLOAD_HINT.format(folder=path.parent)}")  # fmt: skip
    state = contents.state_dict()
    if state is None:
        raise WeightsError(f"{path.name} holds no state dict of tensors")
    top = set(contents.root) if isinstance(contents.root, dict) else set()
    return {k: t.shape for k, t in state.items()}, {k: t.dtype for k, t in state.items()}, top


def _expected_dit(config, fmt: str) -> dict:
    """model key -> (shape, dtype) the engine expects of a DiT file of this format."""
    import torch

    from engine.config import ModelConfig
    from engine.fp8 import fp8_keys
    from engine.model import WanAVModel

    from engine.errors import EngineError

    try:  # a tiny file's own config; the released files carry none (and another model's is not a DiT's)
        model_config = ModelConfig.from_dict(config) if isinstance(config, dict) else ModelConfig.preset("nava-6.3b")
    except EngineError:
        model_config = ModelConfig.preset("nava-6.3b")
    with torch.device("meta"):
        model = WanAVModel(model_config)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if fmt == "fp8":
        return fp8_keys(shapes)
    return {k: (shape, torch.bfloat16) for k, shape in shapes.items()}


def _strip(key: str) -> str:
    return key[len("backbone.") :] if key.startswith("backbone.") else key


def _raw(model_key: str, tensors: dict) -> str:
    return f"backbone.{model_key}" if f"backbone.{model_key}" in tensors else model_key


def _dtype_summary(dtypes: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for dtype in dtypes.values():
        counts[dtype] = counts.get(dtype, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{d} {n}" for d, n in sorted(counts.items(), key=lambda item: -item[1]))
