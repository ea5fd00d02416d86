"""Losses: reconstruction (PConv L1), adversarial (one switch, five kinds), VGG16 perceptual/style, total variation."""
from .adversarial import KINDS as ADVERSARIAL_KINDS
from .adversarial import AdversarialLoss, gradient_penalty, r1_penalty, relativistic_average_loss
from .perceptual import VGG16Features, perceptual_and_style, perceptual_loss, style_loss
from .reconstruction import masked_l1
from .tv import total_variation

__all__ = ["ADVERSARIAL_KINDS", "AdversarialLoss", "gradient_penalty", "r1_penalty", "relativistic_average_loss",
           "VGG16Features", "perceptual_and_style", "perceptual_loss", "style_loss", "masked_l1", "total_variation"]
