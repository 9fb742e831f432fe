"""NAVAPipeline: a caption, voices and an optional first frame in; a Clip with sound out.

``NAVAPipeline.from_pretrained(folder)`` finds the released component files
(:mod:`engine.component_files`) and loads each through its module; ``generate(request)``
encodes the text and voices, samples the joint latents (:mod:`engine.sampling`), and
decodes picture and sound to the lengths of docs/engine.md, "Lengths".

This module imports no torch until a pipeline is built, so :func:`weights_id` is cheap.
"""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.component_files import ComponentFiles, find, fingerprint, locate
from engine.errors import EngineError, WeightsError
from engine.guidance import GuidanceScales
from engine.lengths import FPS, SAMPLE_RATE, audio_samples, audio_tokens, fit_audio, latent_frames
from engine.request import NEGATIVE_PROMPT, Clip, GenerateRequest
from engine.voice import voice_problem

if TYPE_CHECKING:
    import torch

__all__ = [
    "NEGATIVE_PROMPT",
    "Clip",
    "EngineError",
    "GenerateRequest",
    "GuidanceScales",
    "NAVAPipeline",
    "WeightsError",
    "speaker_embedder",
    "speaker_model_file",
    "voice_problem",
    "weights_id",
]

OFFLOADS = ("none", "encoders", "blocks")
FULL_SIZE_PARAMETERS = 1_000_000_000  # above this a CPU run keeps the DiT in bf16 (fp32 needs 25 GB)
PEAK = 0.95  # the reference peak-normalises the decoded audio to this
SIZE_MULTIPLE = 32  # 16x VAE downsampling, then the DiT's 2x2 patches


def weights_id(folder: str | Path, dit: str = "auto", hub_dir: str | Path | None = None) -> str:
    """A short id of the weights in ``folder`` that a render with ``dit`` (``bf16``/``fp8``;
    ``auto`` as on a machine without a GPU) uses: names, sizes, first bytes; no full read."""
    return fingerprint(locate(folder, dit=dit, hub_dir=hub_dir))


def resolve_dit(folder: str | Path, wanted: str = "auto"):
    """The DiT file a render on this machine uses (:class:`engine.dit_choice.DitChoice`).

    Imports torch (for the GPU's memory) only when it matters: ``auto`` with both files present.
    """
    from engine.component_files import dit_files
    from engine.dit_choice import choose_dit

    present = dit_files(Path(folder).expanduser())
    if not present:  # none at the top: locate names every missing component, or components.yaml names it
        return locate(folder).dit_choice
    gpu_memory = None
    if wanted == "auto" and len(present) > 1:
        import torch

        if torch.cuda.is_available():
            gpu_memory = torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory
    return choose_dit(present, wanted, gpu_memory)


def resolve_offload(wanted: str, dit: str, vae_tiling: bool, width: int, height: int, frames: int) -> str:
    """``auto``: the least offload whose estimated peak (:mod:`engine.gpu_memory`) fits the GPU's
    free memory; ``none`` without a GPU (the compute device is the host). Imports torch."""
    if wanted != "auto":
        if wanted not in OFFLOADS:
            raise EngineError(f"unknown offload {wanted!r}", hint=f"use one of auto, {', '.join(OFFLOADS)}")
        return wanted
    import torch

    from engine.gpu_memory import Shot, choose_offload

    if not torch.cuda.is_available():
        return "none"
    free, _ = torch.cuda.mem_get_info()
    return choose_offload(dit, vae_tiling, Shot(width, height, frames), free)


def speaker_model_file(folder: str | Path) -> Path | None:
    """The engine's speaker model (ReDimNet) in a weights folder, or None when it is not there."""
    return find(folder, "speaker")


def speaker_embedder(folder: str | Path, device: str = "cpu"):
    """The engine's speaker model from a weights folder: ``.embed(mono 16 kHz [B, N]) -> [B, 192]``.

    What the engine conditions on a voice with; a take's speech can be compared with the cast
    voice on the same scale.
    """
    from engine.speaker import SpeakerEncoder

    path = speaker_model_file(folder)
    if path is None:
        raise WeightsError(f"the weights folder {folder} has no ReDimNet speaker model (M-vb2+vox2+cnc-ft_mix.pt)")
    return SpeakerEncoder.from_file(path, device=device)


def dit_config(path: Path):
    """The DiT's config: the JSON ``config`` a tiny file stores in its metadata, else the released 6.3B."""
    from engine.config import ModelConfig

    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(path, framework="pt") as f:
            stored = (f.metadata() or {}).get("config")
        if stored:
            return ModelConfig.from_dict(json.loads(stored))
    return ModelConfig.preset("nava-6.3b")


def choose_dtype(device: torch.device, dit_parameters: int) -> torch.dtype:
    """bf16 on GPU; on CPU fp32 for small models and bf16 for the full-size one (25 GB in fp32)."""
    import torch

    large = dit_parameters > FULL_SIZE_PARAMETERS
    return torch.bfloat16 if device.type != "cpu" or large else torch.float32


class NAVAPipeline:
    """The loaded components; build it with :meth:`from_pretrained`."""

    def __init__(self, dit, text_encoder, speaker, video_vae, audio_vae, device: torch.device, offload: bool = False,
                 speaker_cache: Path | None = None, files: ComponentFiles | None = None,
                 block_offload=None):  # fmt: skip
        self.dit = dit
        self.text_encoder = text_encoder
        self.speaker = speaker
        self.video_vae = video_vae
        self.audio_vae = audio_vae
        self.device = device
        self.offload = offload  # the encoders wait on the CPU
        self.speaker_cache = speaker_cache
        self.files = files  # what was loaded (the DiT file and why it was chosen)
        self.block_offload = block_offload  # engine.offload.BlockOffload when the DiT's blocks wait off the GPU

    @classmethod
    def from_pretrained(
        cls,
        folder: str | Path,
        dtype: torch.dtype | None = None,
        device: str | torch.device | None = None,
        offload: bool | str = False,
        speaker_cache: str | Path | None = None,
        vae_tiling: bool = False,
        dit: str = "auto",
        group_size: int = 2,
        hub_dir: str | Path | None = None,
    ) -> NAVAPipeline:
        """Load every component from ``folder``.

        ``dtype``: of the DiT, text encoder and video VAE (default: :func:`choose_dtype`; the
        audio VAE and speaker model are small and stay fp32); ``offload``: ``none``,
        ``encoders`` (the text encoder and speaker model wait on the CPU and visit ``device``
        only to encode; ``True`` means this) or ``blocks`` (that, and the DiT's blocks wait in
        pinned CPU memory and visit the GPU ``group_size`` at a time, :mod:`engine.offload`;
        on a CPU the compute device is the host and the blocks stay put); ``speaker_cache``: a
        folder where voice embeddings are kept by file hash; ``vae_tiling``: decode the video
        in spatial tiles (less memory at large sizes); ``dit``: ``auto``, ``bf16`` or ``fp8``
        (:func:`engine.dit_choice.choose_dit`, by the GPU's memory); ``hub_dir``: torch.hub's
        checkpoint cache, where the speaker model may be.
        """
        import torch

        from engine.audio_vae import AudioVAE
        from engine.speaker import SpeakerEncoder
        from engine.text import TextEncoder
        from engine.video_vae import VideoVAE
        from engine.weights import CheckpointFile, load_wan_av

        from engine.offload import offload_blocks

        mode = {True: "encoders", False: "none"}.get(offload, offload)
        if mode not in OFFLOADS:
            raise EngineError(f"unknown offload {offload!r}", hint=f"use one of {', '.join(OFFLOADS)}")
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        gpu_memory = torch.cuda.get_device_properties(device).total_memory if device.type == "cuda" else None
        files: ComponentFiles = locate(folder, dit=dit, gpu_memory=gpu_memory, hub_dir=hub_dir)
        if dtype is None:
            shapes = CheckpointFile(files.dit).shapes().values()
            dtype = choose_dtype(device, sum(math.prod(shape) for shape in shapes))
        home = torch.device("cpu") if mode != "none" else device
        video_vae = VideoVAE.load(files.video_vae, dtype=dtype, device=device)
        if vae_tiling:
            video_vae.enable_tiling()
        paged = mode == "blocks" and device.type != "cpu"
        model = load_wan_av(files.dit, dit_config(files.dit), dtype=dtype, device="cpu" if paged else device)
        blocks = None
        if paged:  # everything but the blocks on the GPU; the blocks visit it a group at a time
            for name, child in model.named_children():
                if name not in ("double_blocks", "single_blocks"):
                    child.to(device)
            blocks = offload_blocks(model, device, group_size=group_size)
        return cls(
            dit=model,
            text_encoder=_text_encoder(TextEncoder, files, dtype, home),
            speaker=SpeakerEncoder.from_file(files.speaker, device=home),
            video_vae=video_vae,
            audio_vae=AudioVAE.from_file(files.audio_vae, device=device),
            device=device,
            offload=mode != "none",
            speaker_cache=Path(speaker_cache) if speaker_cache is not None else None,
            files=files,
            block_offload=blocks,
        )

    def split_over(self, group) -> None:
        """Run the DiT's forwards split over the ranks of the torch.distributed ``group``
        (Ulysses sequence parallel, :mod:`engine.parallel`). Every rank of the group must
        then make the same :meth:`generate` calls; each gets the whole clip."""
        from engine.parallel import SequenceParallel

        SequenceParallel(group).install(self.dit)

    # -- generate ---------------------------------------------------------------------------

    def generate(self, request: GenerateRequest) -> Clip:
        import torch

        from engine.passes import GuidedPasses
        from engine.sampling import Latents, initial_noise, reimpose_first_frame, sample

        request = _checked(request)
        width, height = _generation_size(request.width, request.height)
        with torch.no_grad():
            conditioning = self._conditioning(request)
            first = self._first_frame_latent(request.first_frame, request, width, height)
            scales = request.guidance or GuidanceScales.for_mode(image_conditioned=first is not None)
            channels = self.video_vae.latent_channels
            video_shape = (channels, latent_frames(request.frames), height // 16, width // 16)
            noise = initial_noise(video_shape, (audio_tokens(request.frames), self.audio_vae.token_dim), request.seed)
            # drawn on the CPU (the same numbers on every device), sampled where the DiT is
            noise = Latents(noise.video.to(self.device), noise.audio.to(self.device))
            denoiser = GuidedPasses(self.dit, conditioning, scales, first_frame_clean=first is not None)
            report = request.progress
            latents = sample(
                denoiser,
                noise,
                request.steps,
                scales,
                first_frame=first,
                progress=(lambda done, total: report(done, total, "denoising")) if report else None,
            )
            if first is not None and request.reimpose_first_frame:
                latents.video = reimpose_first_frame(latents.video, first)
            frames = self._decode_video(latents.video, request, width, height)
            audio = self._decode_audio(latents.audio, request.frames)
        return Clip(frames=frames, audio=audio, sample_rate=SAMPLE_RATE, fps=FPS)

    def _conditioning(self, request: GenerateRequest):
        """Text contexts, speaker slots and embeddings; encoders offloaded after use if asked."""
        from engine.passes import Conditioning

        device = self.device
        with _on(self.text_encoder.model, device, self.offload):
            prompt, negative = self.text_encoder.encode([request.prompt, request.negative_prompt])
        slots = prompt.speaker_slots
        if len(request.speaker_wavs) > len(slots):
            raise EngineError(
                f"{len(request.speaker_wavs)} voices for {len(slots)} speech span(s) in the prompt",
                hint="give one voice (or None) per <S>…<E> span, in order",
            )
        voices = list(request.speaker_wavs) + [None] * (len(slots) - len(request.speaker_wavs))
        with _on(self.speaker.model, device, self.offload):
            embeddings = [self.speaker.embed_file(v, self.speaker_cache) if v is not None else None for v in voices]
        return Conditioning.build(prompt.context, negative.context, slots, embeddings)

    def _first_frame_latent(self, image: np.ndarray | None, request: GenerateRequest, width: int, height: int):
        """The clean first frame, encoded alone: ``[z, 1, h, w]`` fp32 (None without one)."""
        if image is None:
            return None
        import torch

        pixels = fit_image(image, (request.width, request.height), (width, height))
        tensor = torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1.0
        return self.video_vae.encode_image(tensor)[0].float()

    def _decode_video(self, latent, request: GenerateRequest, width: int, height: int) -> np.ndarray:
        import torch

        video = self.video_vae.decode(latent[None])[0]  # [3, T, H, W] in [-1, 1]
        pixels = ((video.clamp(-1, 1) + 1) * 127.5).round().to("cpu", dtype=torch.uint8)
        frames = pixels.permute(1, 2, 3, 0).numpy()[: request.frames]
        top, left = (height - request.height) // 2, (width - request.width) // 2
        return np.ascontiguousarray(frames[:, top : top + request.height, left : left + request.width])

    def _decode_audio(self, tokens, frames: int) -> np.ndarray:
        wave = self.audio_vae.decode(tokens[None])[0].float().cpu().numpy()  # [2, N] at 48 kHz
        wave = fit_audio(wave, audio_samples(frames, SAMPLE_RATE))
        return _peak_normalised(wave).astype(np.float32)


def _checked(request: GenerateRequest) -> GenerateRequest:
    if request.frames < 1 or (request.frames - 1) % 4:
        raise EngineError(f"frames must be 4k + 1 (e.g. 121 for ~5 s at 24 fps), got {request.frames}")
    if request.width < 2 or request.height < 2:
        raise EngineError(f"cannot render {request.width}x{request.height}")
    if request.steps < 1:
        raise EngineError(f"steps must be at least 1, got {request.steps}")
    if request.first_frame is not None:
        image = np.asarray(request.first_frame)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise EngineError(f"the first frame must be uint8 [H, W, 3], got {image.dtype} {list(image.shape)}")
        request = replace(request, first_frame=image)
    return request


def _generation_size(width: int, height: int) -> tuple[int, int]:
    """The size the model renders at: each side rounded up to a multiple of 32 (then cropped)."""
    return (math.ceil(width / SIZE_MULTIPLE) * SIZE_MULTIPLE, math.ceil(height / SIZE_MULTIPLE) * SIZE_MULTIPLE)


def fit_image(image: np.ndarray, size: tuple[int, int], generation: tuple[int, int]) -> np.ndarray:
    """The first frame as the model sees it: ``image`` resized to cover the request's ``size``
    and centre-cropped to it (a still of any size; a previous shot's last frame is already
    that size and passes unchanged), then edge-padded to the ``generation`` size, centred, at
    scale 1, so that the centre crop of the decoded video puts it back pixel for pixel."""
    from PIL import Image

    width, height = size
    h, w = image.shape[:2]
    if (w, h) != (width, height):
        scale = max(width / w, height / h)
        cover = (max(width, round(w * scale)), max(height, round(h * scale)))
        image = np.asarray(Image.fromarray(image).resize(cover, Image.Resampling.LANCZOS))
        top, left = (cover[1] - height) // 2, (cover[0] - width) // 2
        image = image[top : top + height, left : left + width]
    top, left = (generation[1] - height) // 2, (generation[0] - width) // 2
    pad = ((top, generation[1] - height - top), (left, generation[0] - width - left), (0, 0))
    return np.pad(image, pad, mode="edge")


def _peak_normalised(wave: np.ndarray) -> np.ndarray:
    peak = max(float(np.abs(wave).max()), 1e-12)
    return np.clip(wave * (PEAK / peak), -1.0, 1.0)


@contextmanager
def _on(module: Any, device, offload: bool):
    """Keeps ``module`` on ``device`` for a block; with ``offload``, back on the CPU after it."""
    if offload:
        module.to(device)
    try:
        yield module
    finally:
        if offload:
            module.to("cpu")


def _text_encoder(cls, files: ComponentFiles, dtype, device):
    if files.text_encoder.is_dir():
        return cls.from_pretrained(files.text_encoder, dtype=dtype, device=device, tokenizer=files.tokenizer)
    return cls.from_file(files.text_encoder, files.tokenizer, dtype=dtype, device=device)
