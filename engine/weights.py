"""Loading the NAVA DiT checkpoint into a WanAVModel without a second copy in memory.

The released file is ``NAVA.safetensors`` (or a ``.ckpt``/``.pt`` holding ``state_dict``),
fp32, every key prefixed ``backbone.``. The model is built on the meta device; each tensor
is read on its own (safetensors: one at a time from the file; pickles: memory-mapped), cast
to the run dtype and assigned, so peak memory is one model in the run dtype.

LayerNorm affine parameters stay fp32 whatever the run dtype: the reference applies them
in fp32 (LayerNorm runs in fp32 under its bf16 autocast).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from engine.checkpoints import read_torch_file, require_file
from engine.config import ModelConfig
from engine.errors import WeightsError
from engine.model import WanAVModel

PREFIX = "backbone."
WHAT = "NAVA DiT weights"


@dataclass
class KeyReport:
    """How a checkpoint's keys differ from the model's."""

    missing: list[str]
    unexpected: list[str]
    mis_shaped: list[tuple[str, tuple[int, ...], tuple[int, ...]]]  # key, expected, found

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mis_shaped)

    def __str__(self) -> str:
        lines = []
        for label, items in (
            ("missing", self.missing),
            ("unexpected", self.unexpected),
            ("mis-shaped", [f"{k}: expected {list(e)}, found {list(f)}" for k, e, f in self.mis_shaped]),
        ):
            if items:
                shown = "".join(f"\n    {item}" for item in items[:8])
                more = f"\n    … and {len(items) - 8} more" if len(items) > 8 else ""
                lines.append(f"  {len(items)} {label} key(s):{shown}{more}")
        return "\n".join(lines)


def compare_keys(expected: Mapping[str, tuple[int, ...]], found: Mapping[str, tuple[int, ...]]) -> KeyReport:
    return KeyReport(
        missing=sorted(set(expected) - set(found)),
        unexpected=sorted(set(found) - set(expected)),
        mis_shaped=[(k, expected[k], found[k]) for k in expected if k in found and expected[k] != found[k]],
    )


class CheckpointFile(Mapping):
    """The tensors of a checkpoint by their model key (``backbone.`` stripped), read lazily."""

    def __init__(self, path: str | Path):
        self.path = require_file(path, WHAT)
        if self.path.suffix == ".safetensors":
            self._keys, self._shapes, self._read = self._open_safetensors()
        else:
            self._keys, self._shapes, self._read = self._open_pickle()

    def _open_safetensors(self):
        from safetensors import safe_open

        try:
            handle = safe_open(self.path, framework="pt")
            raw = self._by_model_key(handle.keys())
            shapes = {k: tuple(handle.get_slice(r).get_shape()) for k, r in raw.items()}
            self._metadata = handle.metadata() or {}
            self._dtypes = {k: handle.get_slice(r).get_dtype() for k, r in raw.items()}
        except Exception as exc:
            raise WeightsError(
                f"{WHAT}: cannot read {self.path} ({exc})", hint="the file may be truncated: download it again"
            ) from exc
        return raw, shapes, lambda raw_key: handle.get_tensor(raw_key)

    def _open_pickle(self):
        state = read_torch_file(self.path, WHAT)
        if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
            state = state["state_dict"]
        if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise WeightsError(f"{WHAT}: {self.path} holds no state dict of tensors")
        raw = self._by_model_key(state)
        self._metadata = {}
        self._dtypes = {k: _SAFETENSORS_DTYPE_NAMES.get(state[r].dtype, str(state[r].dtype)) for k, r in raw.items()}
        return raw, {k: tuple(state[r].shape) for k, r in raw.items()}, state.__getitem__

    def _by_model_key(self, raw_keys) -> dict[str, str]:
        """model key -> the file's key; a file holding a key with and without ``backbone.`` is refused."""
        raw: dict[str, str] = {}
        for key in raw_keys:
            if (model_key := _strip(key)) in raw:
                raise WeightsError(f"{WHAT}: {self.path} holds {raw[model_key]!r} and {key!r}: which one is meant?",
                                   hint="keep one copy of each tensor in the checkpoint")
            raw[model_key] = key
        return raw

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return dict(self._shapes)

    def raw_keys(self) -> dict[str, str]:
        """model key -> the key as the file spells it."""
        return dict(self._keys)

    def metadata(self) -> dict[str, str]:
        """The safetensors metadata (empty for pickles)."""
        return dict(self._metadata)

    def dtype(self, key: str) -> torch.dtype:
        """A tensor's dtype, read from the index (no tensor read)."""
        name = self._dtypes[key]
        return _TORCH_DTYPES.get(name, torch.float32)

    @property
    def is_fp8(self) -> bool:
        """Whether the file is in the fp8 format (engine.fp8): it stores float8 tensors."""
        return any(self.dtype(k) == torch.float8_e4m3fn for k in self._keys)

    def __getitem__(self, key: str) -> torch.Tensor:
        raw_key = self._keys[key]  # KeyError for a key the file lacks, as for any Mapping
        try:
            return self._read(raw_key)
        except Exception as exc:
            raise WeightsError(f"{WHAT}: cannot read tensor {key} from {self.path} ({exc})") from exc

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


_SAFETENSORS_DTYPE_NAMES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16",
                            torch.float8_e4m3fn: "F8_E4M3", torch.float64: "F64"}  # fmt: skip
_TORCH_DTYPES = {name: dtype for dtype, name in _SAFETENSORS_DTYPE_NAMES.items()}


def _strip(key: str) -> str:
    return key[len(PREFIX) :] if key.startswith(PREFIX) else key


def fp32_parameters(model: nn.Module) -> set[str]:
    """Names of the LayerNorm affine parameters (kept fp32 in every run dtype)."""
    return {
        f"{module_name}.{name}" if module_name else name
        for module_name, module in model.named_modules()
        if isinstance(module, nn.LayerNorm)
        for name, _ in module.named_parameters(recurse=False)
    }


def fixed_dtype_parameters(model: nn.Module) -> dict[str, torch.dtype]:
    """Parameters whose dtype the run dtype does not change: the fp8 layers' weights and scales."""
    from engine.fp8 import FP8Linear

    return {
        f"{module_name}.{name}": param.dtype
        for module_name, module in model.named_modules()
        if isinstance(module, FP8Linear)
        for name, param in module.named_parameters(recurse=False)
        if name != "bias"
    }


def load_state(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str = "cpu",
    source: str = "state dict",
    shapes: Mapping[str, tuple[int, ...]] | None = None,
) -> nn.Module:
    """Assign ``state`` to ``model`` (built on the meta device or not), strictly, tensor by tensor.

    ``dtype``: the run dtype (default: the model's own); ``shapes``: the state's shapes when
    reading them is cheaper than reading the tensors. Raises WeightsError with a key report.
    """
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    report = compare_keys(expected, shapes if shapes is not None else {k: tuple(v.shape) for k, v in state.items()})
    if not report.ok:
        raise WeightsError(
            f"{WHAT}: {source} does not match the model:\n{report}",
            hint="is this the NAVA DiT checkpoint, and is the model config the one it was trained with?",
        )
    keep_fp32 = fp32_parameters(model)
    fixed = fixed_dtype_parameters(model)
    run_dtype = dtype or next(p for k, p in model.named_parameters() if k not in fixed).dtype
    loaded = {}
    for key in expected:
        tensor = state[key]
        target = fixed.get(key) or (torch.float32 if key in keep_fp32 else run_dtype)
        if target == torch.float8_e4m3fn and tensor.dtype != target:
            raise WeightsError(f"{WHAT}: {source} stores {key} as {tensor.dtype}, the fp8 model expects float8_e4m3fn",
                               hint="load a bf16 file without the fp8 layers, or an fp8 file with them")
        loaded[key] = tensor.to(device=device, dtype=target if tensor.is_floating_point() else tensor.dtype)
    model.load_state_dict(loaded, strict=True, assign=True)
    return model


def load_weights(
    model: nn.Module, path: str | Path, *, dtype: torch.dtype | None = None, device: torch.device | str = "cpu"
) -> nn.Module:
    """Load a ``.safetensors`` / ``.ckpt`` / ``.pt`` checkpoint (``backbone.`` prefix or not)."""
    checkpoint = CheckpointFile(path)
    return load_state(
        model, checkpoint, dtype=dtype, device=device, source=str(checkpoint.path), shapes=checkpoint.shapes()
    )


def load_wan_av(
    path: str | Path,
    config: ModelConfig | str = "nava-6.3b",
    *,
    dtype: torch.dtype = torch.bfloat16,
    device: torch.device | str = "cpu",
) -> WanAVModel:
    """Build a WanAVModel on the meta device and stream the checkpoint into it, in eval mode.

    A file in the fp8 format (:mod:`engine.fp8`) gets a model whose block linears are
    :class:`~engine.fp8.FP8Linear`: their fp8 weights stay fp8, the rest takes ``dtype``.
    """
    from engine.fp8 import to_fp8

    if isinstance(config, str):
        config = ModelConfig.preset(config)
    checkpoint = CheckpointFile(path)
    with torch.device("meta"):
        model = WanAVModel(config)
    if checkpoint.is_fp8:
        to_fp8(model)
    return load_state(
        model, checkpoint, dtype=dtype, device=device, source=str(checkpoint.path), shapes=checkpoint.shapes()
    ).eval()
