"""A complete tiny NAVA engine in the released formats, file names and layout (a few MB, random weights).

    python -m engine.make_tiny_weights DIR [--fp8] [--hub-dir HUB]

writes what a real download holds (``hf download ernie-research/NAVA --local-dir DIR``):

    NAVA.safetensors                                  DiT, ``backbone.`` keys (+ its config in metadata)
    NAVA_fp8.safetensors                              with --fp8: the same DiT in the fp8 format
    Wan2.2-TI2V-5B/Wan2.2_VAE.pth                     video VAE, original state dict
    Wan2.2-TI2V-5B/models_t5_umt5-xxl-enc-bf16.pth
    Wan2.2-TI2V-5B/google/umt5-xxl/                   tokenizer (trained here on a small corpus)
    params/LTX2/ltx-2.3-22b-dev_audio_vae.safetensors audio VAE + vocoder, config in metadata

and the ReDimNet speaker model ``M-vb2+vox2+cnc-ft_mix.pt`` (``{'model_config',
'state_dict'}``), which is not in the download, into HUB (a torch.hub checkpoint cache such
as ``$TORCH_HOME/hub/checkpoints``, where the reference's torch.hub call leaves it) or, without
--hub-dir, into DIR (where ``nava-director weights download`` puts it). It is never written
into the real torch.hub cache unasked: a tiny fake there would stand in for the real model.

The widths are chosen so the parts fit together: the DiT's 8 video channels are the VAE's z,
its 16 audio features one latent channel x 16 mel bins, its text width the encoder's.
The real files carry no DiT config; this one stores it as JSON under the metadata key
``config`` so the tiny DiT is built at its own size.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import torch

from engine.component_files import SPEAKER_FILE, locate
from engine.config import ModelConfig

SEED = 0
DIT_CONFIG = dataclasses.replace(ModelConfig.preset("tiny"), text_len=512)  # real captions run to hundreds of tokens
VIDEO_VAE_CONFIG = {"base_dim": 4, "decoder_base_dim": 8, "z_dim": DIT_CONFIG.vid_in_dim}
TEXT_LAYERS, TEXT_HEADS, TEXT_FFN = 2, 2, 64
AUDIO_LATENT_CHANNELS = DIT_CONFIG.audio_in_dim // 16  # x 16 mel bins per token
VOCODER_WIDTHS = (64, 32)  # 16 kHz stage, bandwidth extension: the least their upsampling ladders allow


def write_dit(path: Path) -> None:
    from safetensors.torch import save_file

    from engine.model.wan_av import WanAVModel

    model = WanAVModel(DIT_CONFIG)
    state = {f"backbone.{k}": v.contiguous() for k, v in model.state_dict().items()}
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(DIT_CONFIG).items()}
    save_file(state, str(path), metadata={"config": json.dumps(config)})


def write_video_vae(path: Path) -> None:
    from engine.video_vae import VideoVAE

    VideoVAE.from_config(VIDEO_VAE_CONFIG).save_original(path)


def write_text_encoder(path: Path, tokenizer_dir: Path) -> None:
    from transformers import UMT5Config, UMT5EncoderModel

    from engine.text import TextEncoder, load_tokenizer
    from engine.tiny_tokenizer import build_tiny_tokenizer

    tokenizer = load_tokenizer(build_tiny_tokenizer(tokenizer_dir))
    config = UMT5Config(
        vocab_size=len(tokenizer),
        d_model=DIT_CONFIG.text_dim,
        d_kv=DIT_CONFIG.text_dim // TEXT_HEADS,
        d_ff=TEXT_FFN,
        num_layers=TEXT_LAYERS,
        num_heads=TEXT_HEADS,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
    )
    TextEncoder(UMT5EncoderModel(config), tokenizer).save_original(path)


def write_audio_vae(path: Path) -> None:
    from engine.audio_vae import TINY_RELEASE_CONFIG, AudioVAE

    release = json.loads(json.dumps(TINY_RELEASE_CONFIG))
    release["audio_vae"]["model"]["params"]["ddconfig"]["z_channels"] = AUDIO_LATENT_CHANNELS
    for stage, width in zip(("vocoder", "bwe"), VOCODER_WIDTHS):
        release["vocoder"][stage]["upsample_initial_channel"] = width
    AudioVAE.from_config(release).save_release(path)


def write_speaker(path: Path) -> None:
    from engine.speaker import SpeakerEncoder

    SpeakerEncoder.from_config().save(path)


def make_tiny_weights(folder: str | Path, *, fp8: bool = False, hub_dir: str | Path | None = None) -> Path:
    """Write the tiny engine into ``folder`` (created) in the release layout; returns it. Deterministic.

    ``fp8``: also ``NAVA_fp8.safetensors`` (quantized from the bf16 file by
    :func:`engine.fp8.quantize_file`); ``hub_dir``: where the speaker model goes (default ``folder``).
    """
    from engine.fp8 import quantize_file

    folder = Path(folder)
    wan, ltx = folder / "Wan2.2-TI2V-5B", folder / "params" / "LTX2"
    hub = Path(hub_dir) if hub_dir is not None else folder
    for sub in (folder, wan, ltx, hub):
        sub.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    write_dit(folder / "NAVA.safetensors")
    write_video_vae(wan / "Wan2.2_VAE.pth")
    write_text_encoder(wan / "models_t5_umt5-xxl-enc-bf16.pth", wan / "google" / "umt5-xxl")
    write_audio_vae(ltx / "ltx-2.3-22b-dev_audio_vae.safetensors")
    write_speaker(hub / SPEAKER_FILE)
    if fp8:
        quantize_file(folder / "NAVA.safetensors", folder / "NAVA_fp8.safetensors")
    locate(folder, hub_dir=hub)  # everything the pipeline looks for is there
    return folder


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m engine.make_tiny_weights", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--fp8", action="store_true", help="also write NAVA_fp8.safetensors")
    parser.add_argument("--hub-dir", type=Path, help="torch.hub checkpoint cache for the speaker model (default: DIR)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    folder = make_tiny_weights(args.folder, fp8=args.fp8, hub_dir=args.hub_dir)
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    print(f"tiny NAVA engine written to {folder} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
