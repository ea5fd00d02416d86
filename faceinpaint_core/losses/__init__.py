"""Losses: reconstruction (LG-Net / PConv / EdgeConnect L1 normalisations), adversarial (one switch, six kinds),
VGG16 perceptual/style (named layers, PConv's pool1-3 by default), total variation."""
from .adversarial import KINDS as ADVERSARIAL_KINDS
from .adversarial import AdversarialLoss, gradient_penalty, r1_penalty, relativistic_average_loss
from .perceptual import (PCONV_LAYERS, VGG16_LAYERS, VGG16Features, perceptual_and_style, perceptual_loss,
                         style_loss)
from .reconstruction import NORMALIZATIONS, masked_l1
from .tv import total_variation

__all__ = ["ADVERSARIAL_KINDS", "AdversarialLoss", "gradient_penalty", "r1_penalty", "relativistic_average_loss",
           "PCONV_LAYERS", "VGG16_LAYERS", "VGG16Features", "perceptual_and_style", "perceptual_loss", "style_loss",
           "NORMALIZATIONS", "masked_l1", "total_variation"]
