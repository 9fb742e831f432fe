"""The NAVA joint audio-video diffusion transformer (WanAVModel) and its parts."""
