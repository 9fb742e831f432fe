"""The animatic's spoken lines: espeak-ng says each line, in the character's voice and slot.

A line in Chinese is read by espeak-ng's ``cmn-latn-pinyin`` voice from pinyin with tone
numbers (pypinyin; Debian 12's plain ``cmn`` voice reads the tone numbers aloud); any other
line by ``en-us``. Each character gets a voice variant of their own (a male variant under
165 Hz, a female one above, picked by their id) and their pitch: the line is synthesised,
its median fundamental measured, and it is resampled by target / measured, which puts it
on the character's pitch. espeak's speaking rate is chosen per line so that, after that
resampling, the line lasts its slot's speaking time; what is left over is trimmed (with a
short fade) or padded with silence. Same text, voice and slot: the same samples.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess

import numpy as np

from nava_director.errors import NavaError
from nava_director.project.keys import fraction

ESPEAK = "espeak-ng"
ESPEAK_RATE = 22_050  # espeak-ng's output rate
BASE_WPM = 175  # espeak's default speaking rate, words a minute
MIN_WPM, MAX_WPM = 80, 450  # the range espeak-ng accepts
MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5")
FEMALE_ABOVE_HZ = 165.0
FADE_SECONDS = 0.02
_HAN = re.compile(r"[\u3400-\u9fff]")
_HINT = "install espeak-ng (`apt-get install espeak-ng`; scripts/setup.sh does it)"


def espeak_input(text: str) -> tuple[str, str]:
    """(espeak voice, text to speak): Chinese as pinyin with tone numbers, else English."""
    if not _HAN.search(text):
        return "en-us", text
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True, errors="default")
    spoken = " ".join(s.strip() for s in syllables if s.strip())
    spoken = re.sub(r"\s*([，。！？、,.!?;；:：])\s*", lambda m: _PAUSE.get(m.group(1), ", "), spoken)
    return "cmn-latn-pinyin", spoken.strip(" ,")


_PAUSE = {"。": ". ", "！": "! ", "？": "? ", ".": ". ", "!": "! ", "?": "? "}


def variant(speaker: str | None, pitch: float) -> str:
    """The character's espeak voice variant: stable per id, male or female by pitch."""
    choices = FEMALE_VARIANTS if pitch >= FEMALE_ABOVE_HZ else MALE_VARIANTS
    return choices[int(fraction(speaker or "narrator") * len(choices))]


@functools.lru_cache(maxsize=256)
def synthesize(voice: str, text: str, wpm: int) -> np.ndarray:
    """espeak-ng's mono float32 samples at 22.05 kHz, leading and trailing silence trimmed."""
    import soundfile as sf

    if shutil.which(ESPEAK) is None:
        raise NavaError("espeak-ng is not installed: the animatic speaks its lines with it", hint=_HINT)
    try:
        wav = subprocess.run(
            [ESPEAK, "-v", voice, "-s", str(wpm), "-p", "50", "--stdout", text],
            capture_output=True, check=True, timeout=60,
        ).stdout
    except subprocess.CalledProcessError as error:
        raise NavaError(f"espeak-ng failed on {text!r}: {error.stderr.decode(errors='replace').strip()}",
                        hint=_HINT) from None
    samples, _ = sf.read(io.BytesIO(wav), dtype="float32")
    loud = np.flatnonzero(np.abs(samples) > 1e-3)
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples[:0]


def median_pitch(samples: np.ndarray, rate: int) -> float | None:
    """The median fundamental in Hz over the loud 40 ms frames (autocorrelation, 60–400 Hz)."""
    window, hop = int(0.04 * rate), int(0.01 * rate)
    frames = [samples[s : s + window] for s in range(0, len(samples) - window, hop)]
    if not frames:
        return None
    levels = np.array([np.sqrt(np.mean(f**2)) for f in frames])
    lags = np.arange(rate // 400, rate // 60)
    pitches = []
    for frame, level in zip(frames, levels):
        if level >= 0.3 * levels.max() > 0:
            corr = np.correlate(frame, frame, "full")[window - 1 :]
            pitches.append(rate / lags[np.argmax(corr[lags])])
    return float(np.median(pitches)) if pitches else None


def _resample(samples: np.ndarray, ratio: float, out_rate: int) -> np.ndarray:
    """``samples`` at 22.05 kHz played ``ratio`` times faster, at ``out_rate``."""
    from scipy.signal import resample_poly

    up = out_rate
    down = max(1, round(ESPEAK_RATE * ratio))
    g = np.gcd(up, down)
    return resample_poly(samples, up // g, down // g).astype(np.float32)


def speak(text: str, speaker: str | None, pitch: float, seconds: float, rate: int) -> np.ndarray:
    """``text`` said by ``speaker``'s voice at ``pitch`` Hz, exactly round(seconds·rate) samples at ``rate``."""
    n = max(1, round(seconds * rate))
    espeak_voice, spoken = espeak_input(text)
    if not spoken.strip():
        return np.zeros(n, np.float32)
    voice = f"{espeak_voice}+{variant(speaker, pitch)}"
    first = synthesize(voice, spoken, BASE_WPM)
    measured = median_pitch(first, ESPEAK_RATE) or pitch
    ratio = pitch / measured  # resampling by it moves the voice onto the pitch, the length by 1/ratio
    wanted = seconds * ratio  # espeak's length that lasts ``seconds`` after resampling
    wpm = int(np.clip(round(BASE_WPM * (len(first) / ESPEAK_RATE) / max(wanted, 1e-3)), MIN_WPM, MAX_WPM))
    said = synthesize(voice, spoken, wpm) if wpm != BASE_WPM else first
    out = _resample(said, ratio, rate)
    if len(out) > n:
        out = out[:n].copy()
        fade = min(n, round(FADE_SECONDS * rate))
        out[n - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    else:
        out = np.pad(out, (0, n - len(out)))
    peak = np.abs(out).max()
    return out / peak if peak > 0 else out
