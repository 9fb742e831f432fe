"""Model configs: the released NAVA 6.3B WanAVModel and the tiny one the fixtures use."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import EngineError

# keys of the reference's constructor that only matter for training (ignored here)
_TRAINING_ONLY = {"gradient_checkpointing", "gradient_checkpointing_offload", "gradient_checkpoint_every_n"}
# architecture switches of the reference that the released checkpoint fixes to one value
_FIXED = {
    "model_type": "ti2v",
    "window_size": [-1, -1],
    "qk_norm": True,
    "cross_attn_norm": True,
    "no_split_norm_ffn": True,
    "num_double_final_layers": 0,
    "cross_1d_rope": False,
}


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of the WanAVModel (names follow the reference's constructor)."""

    dim: int
    ffn_dim: int
    num_heads: int
    num_double_layers: int
    num_single_layers: int
    vid_in_dim: int
    vid_out_dim: int
    audio_in_dim: int
    audio_out_dim: int
    text_dim: int = 4096  # the reference leaves it out of its json (umt5-xxl width)
    text_len: int = 512
    freq_dim: int = 256
    patch_size: tuple[int, int, int] = (1, 2, 2)
    eps: float = 1e-6
    temporal_rope_scaling_factor: float = 0.24
    add_spk_emb: bool = True
    speaker_dim: int = 192

    def __post_init__(self) -> None:
        if self.dim % self.num_heads or (self.dim // self.num_heads) % 2:
            raise EngineError(
                f"model config: dim {self.dim} must split into {self.num_heads} heads of even size"
            )

    @property
    def head_dim(self) -> int:
        return self.dim // self.num_heads

    @property
    def num_layers(self) -> int:
        return self.num_double_layers + self.num_single_layers

    @classmethod
    def preset(cls, name: str) -> ModelConfig:
        if name not in PRESETS:
            raise EngineError(f"unknown model preset {name!r}", hint=f"choose one of {', '.join(PRESETS)}")
        return PRESETS[name]

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ModelConfig:
        """Build from a plain dict such as the reference's model json or a fixture's ``config``.

        Training-only keys are ignored; architecture switches must have the released value.
        """
        fields = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key in fields:
                values[key] = tuple(value) if key == "patch_size" else value
            elif key in _FIXED:
                if (list(value) if isinstance(value, (list, tuple)) else value) != _FIXED[key]:
                    raise EngineError(
                        f"model config: {key}={value!r} is not supported (the NAVA model uses {_FIXED[key]!r})"
                    )
            elif key == "num_layers":
                continue  # checked below
            elif key not in _TRAINING_ONLY:
                raise EngineError(f"model config: unknown key {key!r}")
        required = (f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING)
        missing = sorted(name for name in required if name not in values)
        if missing:
            raise EngineError(f"model config: missing {', '.join(missing)}")
        config = cls(**values)
        if "num_layers" in raw and raw["num_layers"] != config.num_layers:
            raise EngineError(
                f"model config: num_layers {raw['num_layers']} != {config.num_double_layers} double"
                f" + {config.num_single_layers} single blocks"
            )
        return config


PRESETS: dict[str, ModelConfig] = {
    # nava_src/models/nava/configs/model/dit/NAVA_6B.json + configs/nava.yaml
    "nava-6.3b": ModelConfig(
        dim=3072,
        ffn_dim=14336,
        num_heads=24,
        num_double_layers=10,
        num_single_layers=20,
        vid_in_dim=48,
        vid_out_dim=48,
        audio_in_dim=128,
        audio_out_dim=128,
    ),
    # the architecture of the tiny parity fixture (docs/engine.md, "Fixtures and how parity is proven")
    "tiny": ModelConfig(
        dim=64,
        ffn_dim=128,
        num_heads=2,
        num_double_layers=2,
        num_single_layers=2,
        vid_in_dim=8,
        vid_out_dim=8,
        audio_in_dim=16,
        audio_out_dim=16,
        text_dim=32,
        text_len=16,
        freq_dim=32,
    ),
}
