"""Finding the released component files in a weights folder.

Each component is looked up by the name it is released under, in the folder itself and in
the sub-folders the reference's own layout uses (``Wan2.2-TI2V-5B/``, ``LTX2/``, …). A
``components.yaml`` in the folder may name any of them instead (paths relative to the
folder)::

    dit: checkpoints/my_NAVA.safetensors
    speaker: voices/M-vb2+vox2+cnc-ft_mix.pt

Every missing component is reported in one error, with where it was looked for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.errors import WeightsError

COMPONENTS_FILE = "components.yaml"
SUBFOLDERS = (".", "Wan2.2-TI2V-5B", "Wan2.2-TI2V-5B-Diffusers", "LTX2", "ReDimNet")
HEADER_BYTES = 1 << 20  # what the fingerprint reads of each file (safetensors keep their index here)


@dataclass(frozen=True)
class Component:
    key: str  # the name in components.yaml
    what: str
    names: tuple[str, ...]  # released file (or folder) names, preferred first


COMPONENTS = (
    Component("dit", "the NAVA DiT", ("NAVA.safetensors", "NAVA.ckpt")),
    Component("video_vae", "the Wan2.2 video VAE", ("Wan2.2_VAE.pth", "vae")),
    Component("text_encoder", "the umt5-xxl text encoder", ("models_t5_umt5-xxl-enc-bf16.pth", "text_encoder")),
    Component("tokenizer", "the umt5-xxl tokenizer", ("google/umt5-xxl", "umt5-xxl", "tokenizer")),
    Component("audio_vae", "the LTX-2.3 audio VAE + vocoder", ("ltx-2.3-22b-dev_audio_vae.safetensors",)),
    Component("speaker", "the ReDimNet speaker model", ("M-vb2+vox2+cnc-ft_mix.pt",)),
)


@dataclass(frozen=True)
class ComponentFiles:
    dit: Path
    video_vae: Path  # Wan2.2_VAE.pth or a diffusers AutoencoderKLWan folder
    text_encoder: Path  # the original .pth or a transformers UMT5EncoderModel folder
    tokenizer: Path  # a tokenizer folder
    audio_vae: Path
    speaker: Path

    def all(self) -> list[Path]:
        return [getattr(self, c.key) for c in COMPONENTS]


def locate(folder: str | Path) -> ComponentFiles:
    """Every component's path in ``folder``; one :class:`WeightsError` naming all that are missing."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise WeightsError(f"the weights folder {folder} does not exist")
    named = _read_components_yaml(folder)
    found: dict[str, Path] = {}
    missing: list[str] = []
    for component in COMPONENTS:
        if component.key in named:
            path = folder / named[component.key]
            if path.exists():
                found[component.key] = path
            else:
                missing.append(f"{component.what}: {path} (named in {folder / COMPONENTS_FILE})")
            continue
        candidates = [folder / sub / name for name in component.names for sub in SUBFOLDERS]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            names = " or ".join(component.names)
            places = ", ".join(str(folder / sub) for sub in SUBFOLDERS)
            missing.append(f"{component.what}: no {names} in {places}")
        else:
            found[component.key] = path
    if missing:
        lines = "\n  ".join(missing)
        raise WeightsError(
            f"the weights folder {folder} is missing {len(missing)} component(s):\n  {lines}\n"
            f"Put the released files there, or name them in {folder / COMPONENTS_FILE}."
        )
    return ComponentFiles(**found)


def find(folder: str | Path, key: str) -> Path | None:
    """One component's path in ``folder`` (named in components.yaml or at a released name), or None."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return None
    component = next(c for c in COMPONENTS if c.key == key)
    named = _read_components_yaml(folder)
    if key in named:
        return path if (path := folder / named[key]).exists() else None
    return next((p for name in component.names for sub in SUBFOLDERS if (p := folder / sub / name).exists()), None)


def fingerprint(files: ComponentFiles) -> str:
    """A short id of the weights: every file's name, size and a hash of its first MiB.

    Cheap (never reads whole GB-size files) and cached per file state.
    """
    digest = hashlib.sha256()
    for path in files.all():
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                stat = file.stat()
                digest.update(_file_id(file.resolve(), stat.st_size, stat.st_mtime_ns).encode())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=256)
def _file_id(path: Path, size: int, mtime_ns: int) -> str:
    with path.open("rb") as f:
        head = hashlib.sha256(f.read(HEADER_BYTES)).hexdigest()
    return f"{path.name}:{size}:{head}\n"


def _read_components_yaml(folder: Path) -> dict[str, str]:
    path = folder / COMPONENTS_FILE
    if not path.is_file():
        return {}
    from ruamel.yaml import YAML, YAMLError

    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    except YAMLError as exc:
        raise WeightsError(f"{path} is not valid YAML: {exc}") from exc
    known = {c.key for c in COMPONENTS}
    if not isinstance(data, dict) or not set(data) <= known or not all(isinstance(v, str) for v in data.values()):
        raise WeightsError(f"{path} must map component names ({', '.join(sorted(known))}) to paths")
    return data
