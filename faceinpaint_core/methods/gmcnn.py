"""GMCNN (Wang et al. 2018, "Image Inpainting via Generative Multi-column Convolutional Neural Networks",
NeurIPS) as a trainable method: multi-column generator (nets/gmcnn.py), confidence-driven reconstruction,
ID-MRF, WGAN-GP global + local critics.

Generator loss (paper eq. (7); weights from the authors' PyTorch release ``pytorch/options/train_options.py``):

* ``rec`` = mean ``|y - x| ⊙ M_w ⊙ M`` (confidence-driven, sec. 3.2; ``M_w`` from
  :func:`~faceinpaint_core.nets.gmcnn.confidence_weights`), weight 1.4 (``lambda_rec``);
* ``ae``  = mean ``|y - x| ⊙ (1 - M)`` (known pixels), weight 1.2 (``lambda_ae``);
* ``mrf`` = ID-MRF (losses/id_mrf.py) of the composite against the ground truth, weight 0.05 (``lambda_mrf``);
* ``adv`` = WGAN-GP generator loss, weight 1e-3 (``lambda_adv``), gradient penalty λ = 10 (``lambda_gp``),
  5 critic steps per generator step (``D_max_iters``).

Critic: the project's :class:`~faceinpaint_core.nets.discriminators.GlobalLocalDiscriminator` (global image +
hole-centred local crop, one score) stands in for GMCNN's two separate WGAN critics; it has BatchNorm, which
WGAN-GP's per-sample penalty formally excludes (deviation). VGG: VGG16 ``relu3_2``/``relu4_2`` instead of
VGG19 (the package has VGG16 only); random-init unless the ImageNet file is installed (labelled in the run).
Smoke: width 8, 64 px, no ID-MRF (a random VGG carries no texture statistics and costs most of the step).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..config import TrainConfig
from ..losses.id_mrf import ID_MRF_CONTENT, ID_MRF_STYLE, id_mrf_loss
from ..nets.gmcnn import GMCNN, confidence_weights, scaled_gaussian
from .gan_inpaint import GANInpaintConfig, GANInpaintMethod, composite, smoke_train, tiny_train


def _paper_train() -> TrainConfig:
    """GMCNN release (train_options.py): batch 16, lr 1e-5, 40 epochs x 1000 steps, 5 critic steps,
    256 px; Adam betas (0.5, 0.9) as the release's optimiser."""
    return TrainConfig(size=256, batch_size=16, lr_g=1e-5, lr_d=1e-5, betas=(0.5, 0.9), steps=40_000, n_critic=5)


@dataclass(frozen=True)
class GMCNNConfig(GANInpaintConfig):
    """GMCNN config; defaults = the release's values (``full``)."""

    train: TrainConfig = field(default_factory=_paper_train)
    width: int = 32               # g_cnum
    disc: str | None = "global-local"
    disc_width: int = 64          # d_cnum
    adv_kind: str = "wgan-gp"
    gp_lambda: float = 10.0       # lambda_gp
    use_mrf: bool = True
    w_rec: float = 1.4            # lambda_rec
    w_ae: float = 1.2             # lambda_ae
    w_mrf: float = 0.05           # lambda_mrf
    w_adv: float = 1e-3           # lambda_adv
    conf_iterations: int = 7      # confidence propagation passes

    def __post_init__(self):
        problems = self.check_gan()
        if self.train.size % 4:
            problems.append(f"train.size must be divisible by 4 (got {self.train.size})")
        if problems:
            raise ValueError("GMCNNConfig: " + "; ".join(problems))


PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"width": 4, "disc_width": 4, "train": tiny_train(n_critic=1)},
    "smoke": {"width": 8, "disc_width": 8, "use_mrf": False, "train": smoke_train(120, n_critic=1, lr_g=1e-4, lr_d=1e-4)},
    "full": {},
}


class GMCNNMethod(GANInpaintMethod):
    """GMCNN, Wang et al. 2018 (see the module docstring)."""

    name = "gmcnn"
    label = "GMCNN"
    reported_as = ("GMCNN",)
    config_cls = GMCNNConfig
    PROFILES = PROFILES

    def vgg_layers(self):
        return tuple(dict.fromkeys(ID_MRF_STYLE + ID_MRF_CONTENT)) if self.cfg.use_mrf else ()

    def build_generator(self):
        return GMCNN(width=self.cfg.width)

    def forward(self, nets, batch):
        m = batch["mask"]
        y = nets["G"](batch["image"] * (1 - m), m)
        return {"pred": y, "comp": composite(y, batch["image"], m)}

    def weights(self, mask: torch.Tensor) -> torch.Tensor:
        size, sigma = scaled_gaussian(mask.shape[-1])
        return confidence_weights(mask, size, sigma, self.cfg.conf_iterations)

    def loss_terms(self, nets, batch, out):
        x, m, y = batch["image"], batch["mask"], out["pred"]
        err = (y - x).abs()
        terms = {"rec": (err * self.weights(m) * m).mean(), "ae": (err * (1 - m)).mean()}
        if self.cfg.use_mrf:
            terms["mrf"] = id_mrf_loss(self.vgg(x.device), out["comp"], x)
        terms.update(self.adv_term(nets, batch, out))
        return terms


__all__ = ["GMCNNConfig", "GMCNNMethod", "PROFILES"]
