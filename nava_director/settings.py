"""Configuration (docs/architecture.md, "Settings"): one :class:`Settings`, resolved in one place.

Precedence, highest first: command-line flags, the environment (``NAVA_WEIGHTS``,
``NAVA_VLLM_URL``, ``NAVA_VLLM_PYTHON``), a ``nava.toml`` beside the storyboard, then
``~/.config/nava-director/config.toml`` (``$XDG_CONFIG_HOME`` honoured). Defaults live
here in code; ``configs/nava.toml`` is an example a user copies.

Every setting remembers where it came from (``Settings.sources``) so that ``plan`` can say
why it chose an engine.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from nava_director.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - machines here run 3.11
    import tomli as tomllib

ENGINES = ("auto", "nava", "animatic")
DITS = ("auto", "bf16", "fp8")  # which DiT file of the weights folder (engine.dit_choice)
OFFLOADS = ("auto", "none", "encoders", "blocks")  # what waits off the GPU (engine.pipeline)
WEIGHTS_REPO = "ernie-research/NAVA"
REWRITERS = ("auto", "template", "vllm", "transformers")
ENV_VARS = {"weights": "NAVA_WEIGHTS", "vllm_url": "NAVA_VLLM_URL", "vllm_python": "NAVA_VLLM_PYTHON"}
PROJECT_CONFIG = "nava.toml"
PATH_KEYS = ("weights", "vllm_python", "out", "asr_model")  # resolved against the file that names them


@dataclass(frozen=True)
class Settings:
    weights: Path | None = None  # NAVA checkpoint folder (or file); None: no nava engine
    vllm_url: str | None = None  # an OpenAI-compatible server already running
    vllm_model: str | None = None  # the rewriter model (served, or to serve)
    vllm_python: Path | None = None  # the Python that has vLLM, to start a server with
    engine: str = "auto"  # auto | nava | animatic
    rewriter: str = "auto"  # auto | template | vllm | transformers
    out: Path | None = None  # project folder; None: <storyboard-stem>.nava beside it
    size: tuple[int, int] | None = None  # (width, height) override for quick looks
    loudness: float = -16.0  # LUFS target of the film's mix
    crf: int = 18  # H.264 quality of what the cut and the clips encode (lower: better, larger)
    burn_subtitles: bool = False  # draw the subtitles into the picture instead of a soft track
    guidance: Mapping[str, float] | None = None  # the engine's guidance scales (s_v, s_a, s_va, s_aa, s_t)
    negative_prompt: str | None = None  # None: the engine's own (the reference's)
    checks: bool = True  # measure every new take (nava_director/checks); --no-check: False
    retake: int = 0  # a new take that fails a check is rendered again with the next seed, up to this many times
    asr_model: Path | None = None  # a Whisper-family model folder for the words check; None: it does not run
    dit: str = "auto"  # auto | bf16 | fp8: the DiT file (auto: by the GPU's memory, fixed at the first render)
    offload: str = "auto"  # auto | none | encoders | blocks (auto: the least that fits the GPU)
    vae_tiling: bool = False  # decode the video in tiles (less memory; changes the clip a little)
    weights_repo: str = WEIGHTS_REPO  # the Hugging Face repo `weights download` fetches
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)  # key -> where set

    def source(self, key: str) -> str:
        return self.sources.get(key, "default")

    def project_dir(self, storyboard: Path) -> Path:
        """Where `render` writes: ``--out`` / ``out`` or ``<stem>.nava`` beside the storyboard."""
        return self.out if self.out is not None else storyboard.with_suffix(".nava")


KEYS = tuple(f.name for f in fields(Settings) if f.name != "sources")


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "nava-director" / "config.toml"


def parse_size(text: str) -> tuple[int, int]:
    """``"640x352"`` -> (640, 352); even, positive (what the video codec needs)."""
    try:
        w, h = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise InputError(f"size {text!r} is not WIDTHxHEIGHT", hint="e.g. --size 640x352") from None
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise InputError(f"size {text!r} must be positive and even", hint="e.g. --size 640x352")
    return w, h


def _coerce(key: str, value: Any, origin: str, base: Path | None) -> Any:
    """A raw value (flag, env or TOML) as the type of ``Settings.<key>``; paths made absolute."""
    if value is None:
        return None
    if key in PATH_KEYS:
        path = Path(value).expanduser()
        return path if path.is_absolute() or base is None else base / path
    if key == "size":
        return tuple(value) if isinstance(value, (tuple, list)) else parse_size(str(value))
    if key == "loudness":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InputError(f"{origin}: loudness {value!r} is not a number", hint="e.g. -16") from None
    if key == "crf":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 51:
            raise InputError(f"{origin}: crf {value!r} is not a whole number from 0 to 51", hint="e.g. 18")
        return value
    if key == "guidance":
        if not isinstance(value, Mapping) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()
        ):
            raise InputError(f"{origin}: guidance must be a table of numbers", hint="e.g. guidance = {s_v = 3.0}")
        return {str(k): float(v) for k, v in value.items()}
    if key in ("burn_subtitles", "checks", "vae_tiling"):
        if not isinstance(value, bool):
            raise InputError(f"{origin}: {key} {value!r} is not true or false")
        return value
    if key == "retake":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"{origin}: retake {value!r} is not a whole number, 0 or more", hint="e.g. retake = 2")
        return value
    choices = {"engine": ENGINES, "rewriter": REWRITERS, "dit": DITS, "offload": OFFLOADS}.get(key)
    if choices and value not in choices:
        raise InputError(f"{origin}: {key} {value!r} is not one of {', '.join(choices)}")
    return str(value)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: {e}", hint="fix the TOML syntax") from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise InputError(
            f"{path}: unknown setting(s) {', '.join(unknown)}", hint=f"known: {', '.join(KEYS)}"
        )
    return data


def load_settings(
    storyboard: Path | None = None,
    flags: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    user_config: Path | None = None,
) -> Settings:
    """Settings for a run on ``storyboard``; ``flags`` maps keys to values, None = not given."""
    env = os.environ if env is None else env
    user_config = user_config_path() if user_config is None else user_config
    layers: list[tuple[str, Mapping[str, Any], Path | None]] = []  # lowest precedence first
    if user_config.is_file():
        layers.append((str(user_config), _read_toml(user_config), user_config.parent))
    if storyboard is not None and (project := storyboard.parent / PROJECT_CONFIG).is_file():
        layers.append((str(project), _read_toml(project), project.parent))
    layers.append(("environment", {k: env[v] for k, v in ENV_VARS.items() if env.get(v)}, Path.cwd()))
    layers.append(("flag", {k: v for k, v in (flags or {}).items() if v is not None}, Path.cwd()))

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for origin, data, base in layers:
        for key, raw in data.items():
            if key not in KEYS:
                raise ValueError(f"unknown setting {key!r}")  # a programming error in a command
            label = f"env {ENV_VARS[key]}" if origin == "environment" else origin
            values[key] = _coerce(key, raw, label, base)
            sources[key] = label
    return replace(Settings(**values), sources=sources)


def choose_engine(settings: Settings) -> tuple[str, str]:
    """The engine that will render, and why (shown by ``plan``)."""
    if settings.engine != "auto":
        return settings.engine, f"engine = {settings.engine} ({settings.source('engine')})"
    if settings.weights is not None:
        return "nava", f"NAVA weights configured ({settings.source('weights')}: {settings.weights})"
    return "animatic", "no NAVA weights configured (set NAVA_WEIGHTS or --weights to render with nava)"
