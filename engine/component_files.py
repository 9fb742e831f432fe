"""Finding the released component files in a weights folder.

The release (``hf download ernie-research/NAVA --local-dir W``) lands as::

    W/NAVA.safetensors                 the DiT, bf16 weights (older releases: NAVA.ckpt)
    W/NAVA_fp8.safetensors             the DiT, fp8 block linears (engine.fp8)
    W/Wan2.2-TI2V-5B/Wan2.2_VAE.pth
    W/Wan2.2-TI2V-5B/models_t5_umt5-xxl-enc-bf16.pth
    W/Wan2.2-TI2V-5B/google/umt5-xxl/  the tokenizer
    W/params/LTX2/ltx-2.3-22b-dev_audio_vae.safetensors

ReDimNet is not in the download: torch.hub leaves ``M-vb2+vox2+cnc-ft_mix.pt`` in its
checkpoint cache (``$TORCH_HOME/hub/checkpoints``); it is looked for in ``W`` first.

Each component is looked up by its released name in the folder and the sub-folders the
reference's layouts use. A ``components.yaml`` in the folder may name any of them instead
(paths relative to the folder)::

    dit: checkpoints/my_NAVA.safetensors
    speaker: voices/M-vb2+vox2+cnc-ft_mix.pt

Every missing component is reported in one error, with where it was looked for.
No torch import: a no-change run locates and fingerprints without it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.dit_choice import DIT_FILES, DitChoice, choose_dit
from engine.errors import WeightsError

COMPONENTS_FILE = "components.yaml"
SUBFOLDERS = (".", "Wan2.2-TI2V-5B", "Wan2.2-TI2V-5B-Diffusers", "params/LTX2", "LTX2", "ReDimNet")
HEADER_BYTES = 1 << 20  # what the fingerprint reads of each file (safetensors keep their index here)
SPEAKER_FILE = "M-vb2+vox2+cnc-ft_mix.pt"
DOWNLOAD_HINT = "nava-director weights download {folder}"


@dataclass(frozen=True)
class Component:
    key: str  # the name in components.yaml
    what: str
    names: tuple[str, ...]  # released file (or folder) names, preferred first


COMPONENTS = (
    Component("dit", "the NAVA DiT", (*DIT_FILES["bf16"], *DIT_FILES["fp8"])),
    Component("video_vae", "the Wan2.2 video VAE", ("Wan2.2_VAE.pth", "vae")),
    Component("text_encoder", "the umt5-xxl text encoder", ("models_t5_umt5-xxl-enc-bf16.pth", "text_encoder")),
    Component("tokenizer", "the umt5-xxl tokenizer", ("google/umt5-xxl", "umt5-xxl", "tokenizer")),
    Component("audio_vae", "the LTX-2.3 audio VAE + vocoder", ("ltx-2.3-22b-dev_audio_vae.safetensors",)),
    Component("speaker", "the ReDimNet speaker model", (SPEAKER_FILE,)),
)


@dataclass(frozen=True)
class ComponentFiles:
    dit: Path
    video_vae: Path  # Wan2.2_VAE.pth or a diffusers AutoencoderKLWan folder
    text_encoder: Path  # the original .pth or a transformers UMT5EncoderModel folder
    tokenizer: Path  # a tokenizer folder
    audio_vae: Path
    speaker: Path
    dit_format: str = "bf16"  # "bf16" (a NAVA.safetensors / .ckpt) or "fp8" (NAVA_fp8.safetensors)
    dit_why: str = ""  # why this DiT file was chosen (plan shows it)

    def all(self) -> list[Path]:
        return [getattr(self, c.key) for c in COMPONENTS]

    @property
    def dit_choice(self) -> DitChoice:
        return DitChoice(self.dit_format, self.dit, self.dit_why)


def hub_checkpoints() -> Path:
    """torch.hub's checkpoint cache, computed as torch.hub does (no torch import):
    ``$TORCH_HOME/hub/checkpoints``, else ``$XDG_CACHE_HOME/torch/hub/checkpoints``,
    else ``~/.cache/torch/hub/checkpoints``."""
    home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch")
    return Path(home).expanduser() / "hub" / "checkpoints"


def dit_files(folder: Path) -> dict[str, Path]:
    """The DiT files present at the top of ``folder``, by format (the first released name of each)."""
    found = {}
    for fmt, names in DIT_FILES.items():
        path = next((folder / n for n in names if (folder / n).is_file()), None)
        if path is not None:
            found[fmt] = path
    return found


def locate(
    folder: str | Path, *, dit: str = "auto", gpu_memory: int | None = None, hub_dir: str | Path | None = None
) -> ComponentFiles:
    """Every component's path in ``folder``; one :class:`WeightsError` naming all that are missing.

    ``dit``: ``auto``, ``bf16`` or ``fp8`` (:func:`engine.dit_choice.choose_dit`, with the
    GPU's ``gpu_memory`` in bytes, None without a GPU); ``hub_dir``: torch.hub's checkpoint
    cache (default :func:`hub_checkpoints`), where the speaker model is looked for after ``folder``.
    """
    found = search(folder, dit=dit, gpu_memory=gpu_memory, hub_dir=hub_dir)
    if found.missing:
        lines = "\n  ".join(found.missing.values())
        raise WeightsError(
            f"the weights folder {found.folder} is missing {len(found.missing)} component(s):\n  {lines}",
            hint=f"download them: {DOWNLOAD_HINT.format(folder=found.folder)}"
            f" (or name them in {found.folder / COMPONENTS_FILE})",
        )
    choice = found.dit
    return ComponentFiles(**found.paths, dit_format=choice.format, dit_why=choice.why)


@dataclass
class Search:
    """What :func:`search` found: paths by component, where each missing one was looked for."""

    folder: Path
    paths: dict[str, Path]
    missing: dict[str, str]  # component key -> "what: no NAME in PLACES"
    dit: DitChoice | None  # the chosen DiT file (None when there is none)
    dit_files: dict[str, Path]  # every DiT file present, by format


def search(
    folder: str | Path, *, dit: str = "auto", gpu_memory: int | None = None, hub_dir: str | Path | None = None
) -> Search:
    """Look every component up (see :func:`locate`), without raising for missing ones."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise WeightsError(
            f"the weights folder {folder} does not exist",
            hint=f"download the weights: {DOWNLOAD_HINT.format(folder=folder)}",
        )
    hub = Path(hub_dir).expanduser() if hub_dir is not None else hub_checkpoints()
    named = _read_components_yaml(folder)
    found: dict[str, Path] = {}
    missing: dict[str, str] = {}
    choice: DitChoice | None = None
    present = dit_files(folder)
    for component in COMPONENTS:
        if component.key in named:
            path = folder / named[component.key]
            if path.exists():
                found[component.key] = path
            else:
                missing[component.key] = f"{component.what}: {path} (named in {folder / COMPONENTS_FILE})"
            continue
        if component.key == "dit" and present:
            choice = choose_dit(present, dit, gpu_memory)
            found["dit"] = choice.path
            continue
        places = [folder / sub for sub in SUBFOLDERS]
        if component.key == "speaker":
            places.append(hub)
        candidates = [place / name for name in component.names for place in places]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            names = " or ".join(component.names)
            missing[component.key] = f"{component.what}: no {names} in {', '.join(str(p) for p in places)}"
        else:
            found[component.key] = path
    if choice is None and "dit" in found:  # named in components.yaml
        fmt = "fp8" if found["dit"].name in DIT_FILES["fp8"] or _holds_fp8(found["dit"]) else "bf16"
        choice = DitChoice(fmt, found["dit"], f"named in {COMPONENTS_FILE}")
        present = {fmt: found["dit"]}
    return Search(folder, found, missing, choice, present)


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


def _holds_fp8(path: Path) -> bool:
    """Whether a safetensors file stores any float8 tensor (its header only)."""
    if path.suffix != ".safetensors" or not path.is_file():
        return False
    from engine.safetensors_header import read_header

    try:
        return any(entry.dtype.startswith("F8") for entry in read_header(path).tensors.values())
    except WeightsError:
        return False


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
