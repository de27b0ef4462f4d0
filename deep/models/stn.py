"""Spatial transformer networks (Jaderberg et al., 2015).

A localisation network looks at the input and predicts a transform; a grid generator
maps the output's pixel centres through it (cvgeo's :class:`~cvgeo.geometry.transforms.
Affine` / :class:`~cvgeo.geometry.transforms.Projective`, which accept batched torch
tensors and keep autograd); a bilinear sampler reads the input there. Everything is
differentiable, so the localisation network learns from the classifier's loss alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import check_choice, check_int, check_real
from cvgeo.geometry.transforms import Affine, Projective
from deep.models.base import check_input_batch

__all__ = ["STNClassifier", "SpatialTransformer"]


def _pixel_centres(h: int, w: int, *, dtype, device) -> torch.Tensor:
    """``(h * w, 2)`` normalised ``(x, y)`` of the pixel centres, row-major: the centre of
    column ``j`` is ``(2 j + 1) / w - 1`` (``align_corners=False``: the image spans
    [-1, 1] edge to edge)."""
    xs = (2 * torch.arange(w, dtype=dtype, device=device) + 1) / w - 1
    ys = (2 * torch.arange(h, dtype=dtype, device=device) + 1) / h - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # (h, w) each
    return torch.stack([gx, gy], dim=-1).reshape(h * w, 2)  # (h w, 2)


class SpatialTransformer(nn.Module):
    """Predict a transform from the input and resample the input through it.

    Parameters
    ----------
    in_chans : int
    transform : {"affine", "projective"}
        6 or 8 predicted parameters. The projective row ``(g, h)`` is bounded by
        ``max_perspective · tanh(·)`` so that ``w = g x + h y + 1 > 0`` on the image.
    output_size : (int, int), optional
        ``(H, W)`` of the output; default the input's.
    localization : nn.Module, optional
        Maps ``(B, C, H, W)`` to ``(B, loc_features)``; default two 3x3 conv-ReLU-pool
        layers (8, 16 channels), global 2x2 pooling and a ``hidden``-unit layer.
    loc_features : int
        Output width of a custom ``localization``.
    hidden : int
        Width of the default localisation network's hidden layer.
    max_perspective : float in (0, 0.5]

    Notes
    -----
    Conventions: coordinates are normalised, ``(x, y) ∈ [-1, 1]²`` edge to edge, with
    pixel centres at ``(2 j + 1) / W - 1``. The predicted matrix ``M`` maps an *output*
    pixel centre to the *input* point it samples (the paper's ``T_θ(G)``), bilinearly with
    zero padding (``F.grid_sample``, ``align_corners=False``). The last layer starts at
    zero weights and the identity's parameters, so training starts from the identity.

    References
    ----------
    M. Jaderberg, K. Simonyan, A. Zisserman and K. Kavukcuoglu, "Spatial Transformer
    Networks", NeurIPS 2015, arXiv:1506.02025.
    """

    def __init__(self, *, in_chans: int = 1, transform: str = "affine",
                 output_size: tuple[int, int] | None = None,
                 localization: nn.Module | None = None, loc_features: int | None = None,
                 hidden: int = 32, max_perspective: float = 0.4):
        super().__init__()
        self.in_chans = check_int(in_chans, "SpatialTransformer", "in_chans", low=1)
        self.transform = check_choice(transform, "SpatialTransformer", "transform",
                                      ("affine", "projective"))
        self.max_perspective = check_real(max_perspective, "SpatialTransformer",
                                          "max_perspective", low=0.0, low_inclusive=False,
                                          high=0.5)
        if output_size is not None:
            if (not isinstance(output_size, (tuple, list)) or len(output_size) != 2
                    or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                           for v in output_size)):
                raise ValueError(f"SpatialTransformer: output_size must be a pair (H, W) of "
                                 f"positive ints or None, got {output_size!r}")
            output_size = (int(output_size[0]), int(output_size[1]))
        self.output_size = output_size
        if localization is None:
            hidden = check_int(hidden, "SpatialTransformer", "hidden", low=1)
            localization = nn.Sequential(
                nn.Conv2d(in_chans, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
                nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                nn.Flatten(), nn.Linear(64, hidden), nn.ReLU())
            loc_features = hidden
        elif loc_features is None:
            raise ValueError("SpatialTransformer: loc_features must give the output width of a "
                             "custom localization network, got None")
        self.localization = localization
        n_params = 6 if self.transform == "affine" else 8
        self.fc = nn.Linear(check_int(loc_features, "SpatialTransformer", "loc_features",
                                      low=1), n_params)
        nn.init.zeros_(self.fc.weight)
        with torch.no_grad():
            self.fc.bias.copy_(torch.tensor([1.0, 0, 0, 0, 1, 0, 0, 0][:n_params]))

    def matrices(self, x: torch.Tensor) -> torch.Tensor:
        """The predicted ``(B, 3, 3)`` matrices (output → input, normalised coordinates)."""
        self._check_input(x)
        theta = self.fc(self.localization(x))  # (B, 6) or (B, 8)
        B = theta.shape[0]
        if self.transform == "affine":
            last = theta.new_tensor([0.0, 0.0, 1.0]).expand(B, 3)  # (B, 3)
        else:
            gh = self.max_perspective * torch.tanh(theta[:, 6:8])  # (B, 2)
            last = torch.cat([gh, theta.new_ones(B, 1)], dim=1)  # (B, 3)
        return torch.cat([theta[:, :6], last], dim=1).reshape(B, 3, 3)  # (B, 3, 3)

    def _check_input(self, x) -> None:
        check_input_batch(x, "SpatialTransformer", self.in_chans)

    def sample(self, x: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
        """Resample ``x`` ``(B, C, H, W)`` through matrices ``M`` ``(B, 3, 3)`` (output pixel
        → input point, normalised coordinates), bilinearly, zeros outside."""
        B = x.shape[0]
        h, w = self.output_size or (x.shape[2], x.shape[3])
        grid = _pixel_centres(h, w, dtype=x.dtype, device=x.device)  # (h w, 2)
        grid = grid.expand(B, h * w, 2)  # (B, h w, 2)
        T = Affine(M) if self.transform == "affine" else Projective(M)
        src = T.apply(grid)  # (B, h w, 2): where each output pixel samples the input
        src = src.reshape(B, h, w, 2).to(x.dtype)  # (B, h, w, 2)
        return F.grid_sample(x, src, mode="bilinear", padding_mode="zeros",
                             align_corners=False)  # (B, C, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sample(x, self.matrices(x))


class STNClassifier(nn.Module):
    """A :class:`SpatialTransformer` in front of a classifier: ``classifier(stn(x))``.

    Parameters
    ----------
    stn : SpatialTransformer
    classifier : nn.Module
        Takes the resampled images ``(B, C, H', W')``.
    """

    def __init__(self, stn: SpatialTransformer, classifier: nn.Module):
        super().__init__()
        if not isinstance(stn, SpatialTransformer):
            raise TypeError(f"STNClassifier: stn must be a SpatialTransformer, got "
                            f"{type(stn).__name__}")
        self.stn = stn
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.stn(x))
