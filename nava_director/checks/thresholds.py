"""Every check's threshold, in one place, each with what it means (README: "Take checks").

The defaults are starting points measured on this project's own material (the animatic's
espeak-ng voices, the tiny engine's noise, the failing clips of tests/test_checks.py);
each is a field a setting can override.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    # speech: Silero VAD's speech probability per 32 ms chunk counts as speech at or above this
    speech_probability: float = 0.5
    # speech: a line passes when at least this share of its expected speaking time (its words
    # at a natural pace, capped by its slot) is heard as speech inside its slot
    speech_min_fraction: float = 0.3
    # speech: more speech than this (seconds) in a shot where nobody speaks is a warning
    speech_outside_seconds: float = 0.5
    # voice: cosine similarity of a line's speech to its character's cast voice, at least
    # (Resemblyzer's scale; same person ~0.75-0.9, another ~0.4-0.7) ...
    voice_min_similarity: float = 0.6
    # ... and with the engine's ReDimNet (its raw cosine scale is lower)
    voice_min_similarity_redimnet: float = 0.3
    # voice: the line must be closer to its own voice than to the shot's other speaker by this
    voice_margin: float = 0.0
    # words: character error rate (Chinese, by characters) at most
    cer_max: float = 0.35
    # words: word error rate (other languages) at most
    wer_max: float = 0.5
    # blank: a frame whose luma spread (std, 0-255) is under this is a solid colour ...
    solid_std: float = 4.0
    # ... and a take fails when more than this share of its frames are
    solid_max_fraction: float = 0.1
    # frozen: consecutive frames closer than this (mean |difference|, 0-255) are the same picture ...
    frozen_difference: float = 0.5
    # ... and a take fails when the picture stands still this long (seconds) or longer
    frozen_max_seconds: float = 1.0
    # flicker: a frame whose mean luma jumps this far (0-255) from both its neighbours, and back
    flicker_jump: float = 12.0
    # seam: a continued shot's first frame against its upstream take's last frame, mean
    # |difference| (0-255, at the checks' analysis size) at most
    seam_max_difference: float = 20.0
    # drift: a chain's shot whose mean colour is this far (CIE76 Delta E, Lab) from the chain's
    # first shot, after growing shot by shot ...
    drift_max_delta_e: float = 10.0
    # ... along at least this many shots (the first included), is a steady drift
    drift_min_shots: int = 3
    # clipping: samples at or above this magnitude count as clipped ...
    clip_level: float = 0.99
    # ... and a take fails when more than this share of its samples are
    clip_max_fraction: float = 0.001
    # silence: 50 ms windows quieter than this (dBFS RMS) are silent ...
    silence_db: float = -60.0
    # ... and a take fails when more than this share of them are
    silence_max_fraction: float = 0.5
    # DC offset: a channel's mean sample magnitude at most
    dc_max: float = 0.02
    # loudness: the take's integrated loudness (LUFS, BS.1770) this far (LU) from the target fails
    loudness_max_off: float = 12.0
    # loudness: the target, the film's (the `loudness` setting, LUFS)
    loudness_target: float = -16.0
