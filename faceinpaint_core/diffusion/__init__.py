"""Gaussian diffusion (DDPM, Ho et al. 2020; DDIM, Song et al. 2021) for inpainting, reusable by any method.

* :mod:`.schedules` — β schedules (``linear`` of DDPM, ``cosine`` of Nichol & Dhariwal 2021);
* :mod:`.gaussian` — :class:`GaussianDiffusion`: the closed-form forward process ``q(x_t | x_0)``
  (source 002 eqs (1)-(2)), ε- or x0-prediction, the training target;
* :mod:`.sampling` — DDPM ancestral and DDIM (η configurable) samplers over a respaced timestep
  sequence, with RePaint-style known-pixel replacement at every step (source 002 eq. (3) is the
  learnt reverse step), batched, every noise draw from a seeded ``torch.Generator``.

Images inside the diffusion live in ``[-1, 1]``; the samplers take and return ``[0, 1]`` images.
"""
from .gaussian import PREDICTIONS, GaussianDiffusion
from .sampling import SAMPLERS, inpaint_sample, timestep_sequence
from .schedules import SCHEDULES, make_betas

__all__ = ["GaussianDiffusion", "PREDICTIONS", "SAMPLERS", "SCHEDULES", "inpaint_sample", "make_betas",
           "timestep_sequence"]
