"""The NAVA joint audio-video diffusion transformer (WanAVModel) and its parts."""

from engine.model.wan_av import AVPrediction, SpeakerSlots, WanAVModel

__all__ = ["AVPrediction", "SpeakerSlots", "WanAVModel"]
