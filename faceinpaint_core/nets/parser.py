"""A small face-parsing U-Net (the study's own, not from the patent) for ``parsing=predicted``.

The facial-style patent (CN113298736A, eqs (2)-(3), (14)) uses the parsing map of the ground-truth
face. A user's own photo has none, so the study trains this network on the CelebAMask-HQ labels
(8 regions + background) and feeds its prediction instead. It sees the *broken* face (image with
holes zeroed, plus the mask) and is trained to predict the full map, holes included, because that
is the input it gets at inference.
"""
from __future__ import annotations

import torch
from torch import nn


def conv_block(cin: int, cout: int) -> nn.Sequential:
    """Two 3×3 conv + BN + ReLU (the classic U-Net block)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class FaceParser(nn.Module):
    """U-Net face parser: broken face → per-pixel logits over background + 8 regions.

    Args:
        widths: channels per level (one max-pool between levels).
        n_classes: 9 (0 = background, 1..8 = skin, nose, eyes, brows, ears, mouth, hair, neck).
        mask_input: append the hole mask as a 4th input channel.
    """

    def __init__(self, widths=(32, 64, 128, 256), n_classes: int = 9, mask_input: bool = True):
        super().__init__()
        self.mask_input, self.n_classes = mask_input, n_classes
        self.levels = len(widths)
        chans = (4 if mask_input else 3, *widths)
        self.down = nn.ModuleList([conv_block(a, b) for a, b in zip(chans[:-1], chans[1:])])
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                 for i in reversed(range(len(widths) - 1))])
        self.merge = nn.ModuleList([conv_block(2 * widths[i], widths[i]) for i in reversed(range(len(widths) - 1))])
        self.head = nn.Conv2d(widths[0], n_classes, 1)

    def forward(self, image: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Args:
            image: ``(N, 3, H, W)`` in ``[0, 1]``; hole pixels are zeroed here; ``H, W`` divisible by
                ``2 ** (levels - 1)``.
            mask: ``(N, 1, H, W)`` float, 1 = hole (None = no hole).
        Returns: logits ``(N, n_classes, H, W)``.
        """
        div = 2 ** (self.levels - 1)
        if image.shape[-1] % div or image.shape[-2] % div:
            raise ValueError(f"FaceParser needs H and W divisible by {div}, got {tuple(image.shape[-2:])}")
        if mask is None:
            mask = image.new_zeros(image.shape[0], 1, *image.shape[-2:])
        x = image * (1 - mask) * 2 - 1
        x = torch.cat([x, mask * 2 - 1], dim=1) if self.mask_input else x
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        skips.pop()
        for up, merge in zip(self.up, self.merge):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)

    @torch.no_grad()
    def predict(self, image: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Parsing labels ``(N, H, W)`` long for broken faces (args as :meth:`forward`)."""
        return self.forward(image, mask).argmax(dim=1)
