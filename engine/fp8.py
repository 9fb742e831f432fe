"""fp8 weight-only DiT: the released ``NAVA_fp8.safetensors`` format, its layer and its writer.

The format (the reference's ``NAVA_FP8`` package): every ``nn.Linear`` under
``backbone.(double|single|double_final)_blocks.N.(self_attn|cross_attn|ffn).`` stores
``<name>.weight`` as float8_e4m3fn ``[out, in]`` and ``<name>.weight_scale`` as bf16 ``[out]``
(symmetric per output row: ``scale = max|w_row| / 448``); every other tensor is bf16. In the
6.3B model that is 380 linears (5.66 B weights, 1 byte each) and 1,052 + 380 tensors.

:class:`FP8Linear` keeps its fp8 weight resident and dequantizes it for each call
(``w.to(dtype) * scale[:, None]``, the reference's arithmetic), so the GPU holds 6.9 GB of
DiT weights instead of 12.6 GB; the product itself runs in the activation dtype.
:func:`quantize_file` writes the format from a bf16/fp32 checkpoint one tensor at a time.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import WeightsError

FP8 = torch.float8_e4m3fn
FP8_MAX = 448.0  # the largest finite float8_e4m3fn
SCALE_DTYPE = torch.bfloat16
SCALE_SUFFIX = "_scale"  # <name>.weight -> <name>.weight_scale
# model keys (no ``backbone.`` prefix) of the weights stored in fp8
QUANTIZED = re.compile(r"^(double|single|double_final)_blocks\.\d+\.(self_attn|cross_attn|ffn)\.[^.]+\.weight$")
LINEAR_PATH = re.compile(r"^(double|single|double_final)_blocks\.\d+\.(self_attn|cross_attn|ffn)\.[^.]+$")
PREFIX = "backbone."
SAFETENSORS_NAMES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", FP8: "F8_E4M3"}


def is_quantized(key: str, shape: tuple[int, ...]) -> bool:
    """Whether checkpoint key ``key`` (``backbone.`` prefix or not) is stored in fp8."""
    key = key[len(PREFIX) :] if key.startswith(PREFIX) else key
    return len(shape) == 2 and "norm" not in key and bool(QUANTIZED.match(key))


def quantize(weight: torch.Tensor, block: int = 1 << 22) -> tuple[torch.Tensor, torch.Tensor]:
    """``[out, in]`` -> (float8_e4m3fn weight, bf16 scale ``[out]``), per output row, symmetric.

    The rows are done ``block`` elements at a time (each row on its own either way) in one
    fp32 buffer reused for every block, so the temporaries stay small next to the weight and
    no allocation is made per block (many short-lived ones grow the heap unpredictably).
    """
    weight = weight.detach()
    rows = max(1, min(weight.shape[0], block // max(1, weight.shape[1])))
    out = torch.empty(weight.shape, dtype=FP8, device=weight.device)
    scale = torch.empty(weight.shape[0], dtype=torch.float32, device=weight.device)
    buffer = torch.empty((rows, weight.shape[1]), dtype=torch.float32, device=weight.device)
    for start in range(0, weight.shape[0], rows):
        n = min(rows, weight.shape[0] - start)
        w = buffer[:n].copy_(weight[start : start + n])
        low, high = torch.aminmax(w, dim=1)  # the row's largest magnitude, without an |w| copy
        s = torch.maximum(low.neg_(), high, out=scale[start : start + n]).clamp_(min=1e-12).div_(FP8_MAX)
        out[start : start + n].copy_(w.div_(s[:, None]).clamp_(-FP8_MAX, FP8_MAX))
    return out, scale.to(SCALE_DTYPE)


def dequantize(weight: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return weight.to(dtype) * scale.to(dtype)[:, None]


class FP8Linear(nn.Module):
    """``nn.Linear`` with a float8_e4m3fn weight and a per-row bf16 scale, dequantized per call."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: torch.dtype | None = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features, dtype=FP8), requires_grad=False)
        self.weight_scale = nn.Parameter(torch.empty(out_features, dtype=SCALE_DTYPE), requires_grad=False)
        self.bias = nn.Parameter(torch.empty(out_features, dtype=dtype), requires_grad=False) if bias else None

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> FP8Linear:
        """Quantize a loaded ``nn.Linear`` (its bias keeps the linear's dtype)."""
        module = cls(linear.in_features, linear.out_features, linear.bias is not None, dtype=linear.weight.dtype)
        weight, scale = quantize(linear.weight)
        module.weight, module.weight_scale = nn.Parameter(weight, False), nn.Parameter(scale, False)
        if linear.bias is not None:
            module.bias = nn.Parameter(linear.bias.detach().clone(), False)
        return module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return F.linear(x, dequantize(self.weight, self.weight_scale, x.dtype), bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, fp8"


def to_fp8(model: nn.Module, quantize_loaded: bool = False) -> int:
    """Replace every block linear of the format with an :class:`FP8Linear`, in place; returns how many.

    On a model built on the meta device the new layers are empty (load the fp8 file into them);
    with ``quantize_loaded`` the loaded weights are quantized.
    """
    targets = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and LINEAR_PATH.match(name) and "norm" not in name
    ]
    for name, linear in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        if quantize_loaded:
            replacement = FP8Linear.from_linear(linear)
        else:
            device = linear.weight.device
            with torch.device(device):
                replacement = FP8Linear(linear.in_features, linear.out_features, linear.bias is not None,
                                        dtype=linear.weight.dtype)  # fmt: skip
        setattr(parent, child, replacement)
    return len(targets)


def fp8_keys(shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """The fp8 file's tensors (key -> shape, dtype) for a checkpoint of ``shapes``, in order."""
    out: dict[str, tuple[tuple[int, ...], torch.dtype]] = {}
    for key, shape in shapes.items():
        if is_quantized(key, shape):
            out[key] = (shape, FP8)
            out[key + SCALE_SUFFIX] = ((shape[0],), SCALE_DTYPE)
        else:
            out[key] = (shape, torch.bfloat16)
    return out


def safetensors_prefix(layout: dict[str, tuple[tuple[int, ...], torch.dtype]], metadata: dict | None = None
                       ) -> tuple[bytes, int]:
    """The bytes a safetensors file of ``layout`` (key -> shape, dtype, in file order) starts
    with (length and JSON header, padded to 8), and the bytes of tensor data that follow."""
    header: dict[str, dict] = {"__metadata__": {**(metadata or {}), "format": "pt"}}
    at = 0
    for key, (shape, dtype) in layout.items():
        size = torch.Size(shape).numel() * torch.empty((), dtype=dtype).element_size()
        header[key] = {"dtype": SAFETENSORS_NAMES[dtype], "shape": list(shape), "data_offsets": [at, at + size]}
        at += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    return struct.pack("<Q", len(encoded)) + encoded, at


def quantize_file(
    source: str | Path,
    target: str | Path,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Write ``target`` (the fp8 format) from the bf16/fp32 checkpoint ``source``, tensor by tensor.

    ``source``: a safetensors file or a torch zip checkpoint (a state dict, or one under
    ``state_dict``). The header is written first (every size is known from the shapes), then
    each tensor is read on its own (a positioned read, no memory map), converted and
    appended: peak memory is a few copies of the largest tensor, never the file. The source's
    safetensors metadata is kept. Writes ``target`` + ``.partial`` and renames it at the end.
    """
    source, target = Path(source), Path(target)
    shapes, dtypes, metadata, read = _tensor_source(source)
    if any(d.startswith("F8") for d in dtypes.values()):
        raise WeightsError(f"{source} is already in the fp8 format", hint="quantize the bf16 NAVA.safetensors")
    if not all(d.startswith(("F", "BF")) for d in dtypes.values()):
        raise WeightsError(f"{source} holds non-float tensors: it is not a NAVA DiT checkpoint")
    layout = fp8_keys(shapes)
    header, _ = safetensors_prefix(layout, metadata)
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as f:
        f.write(header)
        for done, (key, shape) in enumerate(shapes.items(), 1):
            tensor = read(key)
            if is_quantized(key, shape):
                weight, scale = quantize(tensor)
                _write(f, weight)
                _write(f, scale)
                del weight, scale
            else:
                _write(f, tensor.to(torch.bfloat16))
            del tensor
            if progress is not None:
                progress(done, len(shapes))
    partial.replace(target)
    return {
        "tensors_in": len(shapes),
        "tensors_out": len(layout),
        "quantized_linears": sum(1 for key, shape in shapes.items() if is_quantized(key, shape)),
        "bytes_out": target.stat().st_size,
    }


def _tensor_source(path: Path):
    """(shapes, dtype names, metadata, read(key)) of a checkpoint, from its index alone."""
    from engine import pickle_header, safetensors_header

    if not path.is_file():
        raise WeightsError(f"no checkpoint at {path}")
    if path.suffix == ".safetensors":
        header = safetensors_header.read_header(path)
        if path.stat().st_size < header.expected_size:
            raise WeightsError(f"{path} is truncated ({path.stat().st_size} of {header.expected_size} bytes)")
        shapes = {k: e.shape for k, e in header.tensors.items()}
        dtypes = {k: e.dtype for k, e in header.tensors.items()}
        return shapes, dtypes, header.metadata, lambda key: safetensors_header.read_tensor(header, key)
    contents = pickle_header.read_pickle(path)
    state = contents.state_dict()
    if state is None:
        raise WeightsError(f"{path} holds no state dict of tensors")
    shapes = {k: t.shape for k, t in state.items()}
    dtypes = {k: t.dtype for k, t in state.items()}
    return shapes, dtypes, {}, lambda key: pickle_header.read_tensor(contents, state[key])


def _write(f, tensor: torch.Tensor) -> None:
    f.write(tensor.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy().data)
