"""The NAVA joint audio-video diffusion transformer (WanAVModel) and its parts.

One call predicts the flow-matching velocity of a video latent, an audio latent or both::

    model = engine.weights.load_wan_av("NAVA.safetensors", "nava-6.3b", dtype=torch.bfloat16, device="cuda")
    t_video = model.video_timesteps(t, video, clean_first_frame=True)       # [B, F*H/2*W/2]
    out = model(video, audio, t_video, t, context, speaker=SpeakerSlots(embeddings, positions),
                modality_mask=torch.tensor([False, True]))
    out.video  # [B, 48, F, H, W]    out.audio  # [B, L_a, 128]

Files: ``layout`` (the joint token sequence), ``rope``, ``attention`` (the one kernel),
``norms``, ``embeddings``, ``blocks``, ``head``, ``wan_av`` (the model).
"""

from engine.model.wan_av import AVPrediction, SpeakerSlots, WanAVModel

__all__ = ["AVPrediction", "SpeakerSlots", "WanAVModel"]
