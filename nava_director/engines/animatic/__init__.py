"""The animatic: timed storyboard cards with a simulated camera and scratch audio (no GPU, no weights)."""

from nava_director.engines.animatic.engine import PREVIEW_WIDTH, AnimaticEngine

__all__ = ["PREVIEW_WIDTH", "AnimaticEngine"]
