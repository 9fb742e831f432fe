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
LOUDNESS_LUFS = (-60.0, -5.0)  # targets the cut can reach under its -1 dBTP ceiling
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
    places: Mapping[str, str] = field(default_factory=dict, compare=False)  # key -> nava.toml:LINE, --flag, env X

    def source(self, key: str) -> str:
        return self.sources.get(key, "default")

    def project_dir(self, storyboard: Path) -> Path:
        """Where `render` writes: ``--out`` / ``out`` or ``<stem>.nava`` beside the storyboard."""
        return self.out if self.out is not None else storyboard.with_suffix(".nava")


KEYS = tuple(f.name for f in fields(Settings) if f.name != "sources")


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "nava-director" / "config.toml"


SIZE_SIDE = (16, 4096)  # pixels a side: a 4096x4096 frame is already beyond any engine here
GUIDANCE_KEYS = ("s_v", "s_a", "s_va", "s_aa", "s_t")  # the engine's scales (docs/engine.md)
GUIDANCE_RANGE = (0.0, 30.0)


def parse_size(text: str) -> tuple[int, int]:
    """``"640x352"`` -> (640, 352); even, 16 to 4096 a side (what the video codec needs)."""
    try:
        w, h = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise InputError(f"size {text!r} is not WIDTHxHEIGHT", hint="e.g. --size 640x352") from None
    return _size(w, h, repr(text))


def _size(w: int, h: int, shown: str) -> tuple[int, int]:
    low, high = SIZE_SIDE
    if not (low <= w <= high and low <= h <= high) or w % 2 or h % 2:
        raise InputError(f"size {shown} must be even and {low} to {high} pixels a side", hint="e.g. --size 640x352")
    return w, h


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _coerce(key: str, value: Any, origin: str, base: Path | None) -> Any:
    """A raw value (flag, env or TOML) as the type of ``Settings.<key>``, checked by one rule
    whatever its source; paths made absolute. ``origin`` names the source (``nava.toml:3``)."""
    if value is None:
        return None
    try:
        return _checked(key, value, base)
    except InputError as error:
        raise InputError(f"{origin}: {error.message}", hint=error.hint) from None


def _checked(key: str, value: Any, base: Path | None) -> Any:
    if key in PATH_KEYS:
        if not isinstance(value, (str, os.PathLike)) or not str(value).strip() or "\0" in str(value):
            raise InputError(f"{key} {value!r} is not a path", hint=f'write it as text, e.g. {key} = "folder"')
        path = Path(value).expanduser()
        return path if path.is_absolute() or base is None else base / path
    if key == "size":
        if isinstance(value, (tuple, list)):
            if len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                raise InputError(f"size {list(value)!r} is not [WIDTH, HEIGHT]", hint='e.g. size = "640x352"')
            return _size(value[0], value[1], repr(list(value)))
        if not isinstance(value, str):
            raise InputError(f"size {value!r} is not WIDTHxHEIGHT", hint='e.g. size = "640x352"')
        return parse_size(value)
    if key == "loudness":
        low, high = LOUDNESS_LUFS
        try:
            lufs = float(value)
        except (TypeError, ValueError, OverflowError):
            lufs = float("nan")
        if isinstance(value, bool) or not low <= lufs <= high:  # nan and inf fail this too
            raise InputError(f"loudness {value!r} is not a number of LUFS from {low:g} to {high:g}",
                             hint="e.g. -16 (streaming) or -23 (broadcast)")
        return lufs
    if key == "crf":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 51:
            raise InputError(f"crf {value!r} is not a whole number from 0 to 51", hint="e.g. 18")
        return value
    if key == "guidance":
        low, high = GUIDANCE_RANGE
        if not isinstance(value, Mapping):
            raise InputError(f"guidance {value!r} is not a table", hint="e.g. guidance = {s_v = 3.0}")
        for name, scale in value.items():
            if name not in GUIDANCE_KEYS:
                raise InputError(f"guidance has no scale {name!r}", hint=f"the scales: {', '.join(GUIDANCE_KEYS)}")
            if not _number(scale) or not low <= scale <= high:
                raise InputError(f"guidance {name} = {scale!r} is not a number from {low:g} to {high:g}",
                                 hint="e.g. guidance = {s_v = 3.0}")
        return {str(k): float(v) for k, v in value.items()}
    if key in ("burn_subtitles", "checks", "vae_tiling"):
        if not isinstance(value, bool):
            raise InputError(f"{key} {value!r} is not true or false")
        return value
    if key == "retake":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"retake {value!r} is not a whole number, 0 or more", hint="e.g. retake = 2")
        return value
    if not isinstance(value, str) or "\0" in value:
        raise InputError(f"{key} {value!r} is not text", hint=f'quote it: {key} = "..."')
    choices = {"engine": ENGINES, "rewriter": REWRITERS, "dit": DITS, "offload": OFFLOADS}.get(key)
    if choices and value not in choices:
        raise InputError(f"{key} {value!r} is not one of {', '.join(choices)}")
    if key == "vllm_url" and not value.startswith(("http://", "https://")):
        raise InputError(f"vllm_url {value!r} is not an http(s) URL", hint="e.g. http://127.0.0.1:8000/v1")
    return value


def _line_of(text: str, key: str) -> int | None:
    """The line where a TOML file sets ``key`` at its top level (tomllib keeps no positions)."""
    import re

    found = re.search(rf"^[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*=", text, re.M)
    return text.count("\n", 0, found.start()) + 1 if found else None


def _read_toml(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The file's settings and, for each, the ``PATH:LINE`` that sets it."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte {e.object[e.start]:#04x})",
                         hint="a nava.toml is a text file of `key = value` lines") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        import re

        at = re.search(r" \(at line (\d+), column (\d+)\)$", str(e))
        place = f"{path}:{at.group(1)}:{at.group(2)}" if at else str(path)
        what = str(e)[: at.start()] if at else str(e)
        raise InputError(f"{place}: {what}", hint="fix the TOML syntax") from None
    places = {key: f"{path}:{line}" if (line := _line_of(text, key)) else str(path) for key in data}
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise InputError(
            f"{places[unknown[0]]}: unknown setting(s) {', '.join(unknown)}", hint=f"known: {', '.join(KEYS)}"
        )
    return data, places


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
    # lowest precedence first: (source, values, where each value is set, base of relative paths)
    layers: list[tuple[str, Mapping[str, Any], Mapping[str, str], Path | None]] = []
    for path in (user_config, storyboard.parent / PROJECT_CONFIG if storyboard is not None else None):
        if path is not None and path.exists():
            if not path.is_file():
                raise InputError(f"{path}: is not a file", hint="a settings file is a `key = value` text file")
            data, places = _read_toml(path)
            layers.append((str(path), data, places, path.parent))
    given_env = {k: env[v] for k, v in ENV_VARS.items() if env.get(v)}
    layers.append(("environment", given_env, {k: f"env {ENV_VARS[k]}" for k in given_env}, Path.cwd()))
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    layers.append(("flag", given, {k: f"--{k.replace('_', '-')}" for k in given}, Path.cwd()))

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    where: dict[str, str] = {}
    for origin, data, places, base in layers:
        for key, raw in data.items():
            if key not in KEYS:
                raise ValueError(f"unknown setting {key!r}")  # a programming error in a command
            label = f"env {ENV_VARS[key]}" if origin == "environment" else origin
            values[key] = _coerce(key, raw, places.get(key, label), base)
            sources[key] = label
            where[key] = places.get(key, label)
    return replace(Settings(**values), sources=sources, places=where)


def check_paths(settings: Settings) -> None:
    """The paths a run will use exist as what they must be; said once, up front, where set."""
    def place(key: str) -> str:
        return settings.places.get(key, settings.source(key))

    if settings.weights is not None and not settings.weights.exists():
        raise InputError(f"{place('weights')}: weights {str(settings.weights)!r} do not exist",
                         hint="point --weights / NAVA_WEIGHTS / weights = at the NAVA weights folder")
    if settings.vllm_python is not None and not settings.vllm_python.is_file():
        raise InputError(f"{place('vllm_python')}: vllm_python {str(settings.vllm_python)!r} is not a file",
                         hint="the python of a vLLM venv (scripts/setup_vllm.sh makes .venv-vllm)")
    if settings.out is not None and settings.out.exists() and not settings.out.is_dir():
        raise InputError(f"{place('out')}: out {str(settings.out)!r} is a file, not a folder",
                         hint="name a folder for the project (it is made if missing)")


def choose_engine(settings: Settings) -> tuple[str, str]:
    """The engine that will render, and why (shown by ``plan``)."""
    if settings.engine != "auto":
        return settings.engine, f"engine = {settings.engine} ({settings.source('engine')})"
    if settings.weights is not None:
        return "nava", f"NAVA weights configured ({settings.source('weights')}: {settings.weights})"
    return "animatic", "no NAVA weights configured (set NAVA_WEIGHTS or --weights to render with nava)"
