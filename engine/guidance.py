"""NAVA's classifier-free guidance: how the passes of one step combine into one velocity.

Pure arithmetic on the passes' outputs (tensors or anything with ``+ - *``); no torch import,
so requests can carry :class:`GuidanceScales` without loading torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from engine.errors import EngineError

if TYPE_CHECKING:
    from torch import Tensor


@dataclass(frozen=True)
class GuidanceScales:
    """Classifier-free guidance weights, named as in docs/engine.md, "Guidance".

    ``s_v``/``s_a``: prompt vs negative prompt; ``s_va``/``s_aa``: joint vs modality-masked
    attention (3-D aligned CFG); ``s_t``: with vs without the speaker embedding (timbre).
    """

    s_v: float = 3.0
    s_a: float = 2.0
    s_va: float = 3.0
    s_aa: float = 2.0
    s_t: float = 3.0
    align: bool = True  # run the ALIGN pass (3-D aligned CFG)
    timbre: bool = True  # run the TIMBRE pass when there are speakers

    @classmethod
    def for_mode(cls, image_conditioned: bool) -> GuidanceScales:
        """The reference's scales for a text-only (T2AV) or an image-conditioned (I2AV) shot.

        I2AV: the video and timbre scales lowered to 2.0 (docs/engine.md, "Guidance").
        """
        return cls(s_v=2.0, s_t=2.0) if image_conditioned else cls()

    @classmethod
    def from_mapping(cls, scales: Mapping[str, float] | None, image_conditioned: bool = False) -> GuidanceScales:
        """The mode's scales (:meth:`for_mode`) overridden by ``scales`` (``s_v``, ``s_a``, ``s_va``, ``s_aa``, ``s_t``)."""
        names = ("s_v", "s_a", "s_va", "s_aa", "s_t")
        unknown = sorted(set(scales or {}) - set(names))
        if unknown:
            raise EngineError(f"unknown guidance scale(s): {', '.join(unknown)}", hint=f"use {', '.join(names)}")
        base = cls.for_mode(image_conditioned)
        return replace(base, **{name: float(value) for name, value in (scales or {}).items()})


@dataclass
class Passes:
    """One modality's model outputs for the passes of one step (``None``: pass not run)."""

    cond: Tensor
    uncond: Tensor
    align: Tensor | None = None
    timbre: Tensor | None = None


def guide(passes: Passes, scale: float, align_scale: float = 0.0, timbre_scale: float = 0.0) -> Tensor:
    """The reference's guidance, evaluated left to right as it does.

    With an ALIGN or TIMBRE output: ``COND + s(COND-UNCOND) + s_align(COND-ALIGN) + s_t(COND-TIMBRE)``
    (absent terms dropped); with neither, plain CFG ``UNCOND + s(COND-UNCOND)``.
    """
    cond, uncond = passes.cond, passes.uncond
    if passes.align is None and passes.timbre is None:
        return uncond + scale * (cond - uncond)
    out = cond + scale * (cond - uncond)
    if passes.align is not None:
        out = out + align_scale * (cond - passes.align)
    if passes.timbre is not None:
        out = out + timbre_scale * (cond - passes.timbre)
    return out


def guide_video(passes: Passes, scales: GuidanceScales) -> Tensor:
    """Video has no timbre term: the TIMBRE pass's video output is ignored."""
    return guide(Passes(passes.cond, passes.uncond, passes.align), scales.s_v, scales.s_va)


def guide_audio(passes: Passes, scales: GuidanceScales) -> Tensor:
    return guide(passes, scales.s_a, scales.s_aa, scales.s_t)
