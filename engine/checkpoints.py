"""Reading component checkpoints (torch pickles and safetensors) and loading them strictly.

Every failure becomes a :class:`~engine.errors.WeightsError` naming the file and what was
wrong with it, never a bare ``KeyError`` or pickle traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.errors import WeightsError


def require_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{what}: no file at {path}", hint="check the weights folder")
    return path


def read_torch_file(path: str | Path, what: str) -> Any:
    """``torch.load`` with ``weights_only=True`` (memory-mapped where the format allows)."""
    path = require_file(path, what)
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # legacy (non-zip) pickles cannot be memory-mapped
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise WeightsError(f"{what}: cannot read {path}: {exc}") from exc
    except Exception as exc:
        raise WeightsError(f"{what}: cannot read {path}: {exc}") from exc


def read_state_dict(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """A plain ``{name: tensor}`` dict from a ``.pth``/``.pt``/``.safetensors`` file."""
    path = require_file(path, what)
    if path.suffix == ".safetensors":
        return read_safetensors(path, what)[0]
    state = read_torch_file(path, what)
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{what}: {path} does not hold a state dict of tensors")
    return dict(state)


def read_safetensors(path: str | Path, what: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and the string metadata of a safetensors file."""
    from safetensors import safe_open

    path = require_file(path, what)
    try:
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
            return {k: f.get_tensor(k) for k in f.keys()}, metadata
    except Exception as exc:
        raise WeightsError(f"{what}: cannot read {path}: {exc}") from exc


def json_metadata(metadata: Mapping[str, str], key: str, path: Path, what: str) -> dict:
    if key not in metadata:
        raise WeightsError(f"{what}: {path} has no '{key}' entry in its safetensors metadata")
    try:
        return json.loads(metadata[key])
    except json.JSONDecodeError as exc:
        raise WeightsError(f"{what}: metadata '{key}' of {path} is not JSON: {exc}") from exc


def load_strict(
    module: nn.Module,
    state: Mapping[str, torch.Tensor],
    what: str,
    path: str | Path,
    dtype: torch.dtype | None = None,
) -> None:
    """Put ``state`` into ``module`` (built on the meta device or not); every key must match.

    Tensors are assigned, not copied; floating ones are cast to ``dtype`` (default: the dtype
    of the tensor they replace).
    """
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        parts = [
            f"{label}: {', '.join(keys[:5])}{' …' if len(keys) > 5 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
            if keys
        ]
        raise WeightsError(
            f"{what}: {path} does not match the model ({'; '.join(parts)})",
            hint="is this the right file for this component?",
        )
    cast = {k: v.to(dtype or expected[k].dtype) if v.is_floating_point() else v for k, v in state.items()}
    module.load_state_dict(cast, strict=True, assign=True)
