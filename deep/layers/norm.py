"""Normalisation layers, written from their definitions.

Each CNN normalisation here matches its ``torch.nn`` counterpart (same parameters,
buffers and state-dict keys; outputs equal to 1e-6 in train and eval mode).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cvgeo._checks import check_int, check_real

__all__ = ["BatchNorm2d", "GroupNorm", "LayerNorm", "LayerNorm2d", "LocalResponseNorm",
           "RMSNorm", "WeightNorm", "weight_norm"]


class RMSNorm(nn.Module):
    """Root-mean-square layer normalisation (Zhang & Sennrich, 2019).

    ``y = x / sqrt(mean(x², over the last axis) + eps) * weight`` — LayerNorm without the
    mean subtraction and without a bias.

    Parameters
    ----------
    dim : int
        Size of the last axis.
    eps : float
        Added to the mean square before the square root.
    elementwise_affine : bool
        Learn a per-feature ``weight`` (initialised to ones).

    References
    ----------
    B. Zhang and R. Sennrich, "Root Mean Square Layer Normalization", NeurIPS 2019,
    arXiv:1910.07467.
    """

    def __init__(self, dim: int, *, eps: float = 1e-6, elementwise_affine: bool = True):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"RMSNorm: dim must be a positive int, got {dim!r}")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"RMSNorm: eps must be a positive number, got {eps!r}")
        self.dim = dim
        self.eps = float(eps)
        self.weight = nn.Parameter(torch.ones(dim)) if elementwise_affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.dim:
            raise ValueError(f"RMSNorm: input must have last dimension {self.dim}, got shape "
                             f"{tuple(x.shape)}")
        # Computed in float32 at least, so half-precision inputs do not overflow x².
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        y = y.to(x.dtype)
        return y * self.weight if self.weight is not None else y

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps}, elementwise_affine={self.weight is not None}"


# ---------------------------------------------------------------- normalisation for CNNs
def _check_channels(x: torch.Tensor, channels: int, func: str, layout: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{func}: input must be a torch.Tensor {layout}, got "
                        f"{type(x).__name__}")
    if x.ndim < 2 or x.shape[1] != channels:
        raise ValueError(f"{func}: input must be {layout} with C={channels}, got shape "
                         f"{tuple(x.shape)}")


def _at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """Half-precision inputs (autocast) are normalised in float32, as torch's norms do."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _check_eps(eps, func: str) -> float:
    return check_real(eps, func, "eps", low=0.0, low_inclusive=False)


def _affine_parameters(module: nn.Module, n: int) -> None:
    """``module.weight`` (ones) and ``module.bias`` (zeros) of length ``n`` as parameters when
    ``module.affine``, else both registered as None (as torch's norms do)."""
    if module.affine:
        module.weight = nn.Parameter(torch.ones(n))
        module.bias = nn.Parameter(torch.zeros(n))
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


class _BatchNormFunction(torch.autograd.Function):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the batch statistics of
    ``x`` over every axis but 1, and its backward pass written out.

    Backward (per channel, ``m`` = number of reduced elements, ``x̂`` the normalised input,
    ``k = weight / sqrt(var + eps)``)::

        dbias = Σ dy,   dweight = Σ dy x̂ = (Σ dy x - mean Σ dy) / sqrt(var + eps)
        dx = k (dy - Σ dy / m - x̂ · dweight / m)

    Both directions are written as one per-channel affine map of the data (``y = a x + b``,
    ``dx = k dy + c (x - mean) + d``), so only ``x`` is kept for the backward pass (the convolution
    before the norm keeps it anyway) and each direction reads the data few times.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps, dims):
        var, mean = torch.var_mean(x, dim=dims, correction=0, keepdim=True)  # (1, C, 1, ...)
        inv_std = torch.rsqrt(var + eps)
        scale = inv_std if weight is None else inv_std * weight.view_as(mean)
        shift = -mean * scale if bias is None else bias.view_as(mean) - mean * scale
        y = torch.addcmul(shift, x, scale)  # (x - mean) * inv_std * weight + bias
        ctx.dims = dims
        ctx.save_for_backward(x, mean, inv_std, weight)
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    def backward(ctx, dy, _dmean, _dvar):
        x, mean, inv_std, weight = ctx.saved_tensors
        dims = ctx.dims
        m = x.numel() // mean.numel()
        sum_dy = dy.sum(dim=dims, keepdim=True)  # (1, C, 1, ...)
        xc = x - mean  # centred first: Σ dy x - mean Σ dy would cancel when |mean| >> std
        sum_dy_xhat = (dy * xc).sum(dim=dims, keepdim=True) * inv_std
        dweight = dbias = None
        if weight is not None:
            if ctx.needs_input_grad[1]:
                dweight = sum_dy_xhat.reshape(-1)
            if ctx.needs_input_grad[2]:
                dbias = sum_dy.reshape(-1)
        dx = None
        if ctx.needs_input_grad[0]:
            k = inv_std if weight is None else inv_std * weight.view_as(mean)
            c = -k * inv_std * sum_dy_xhat / m  # coefficient of x - mean
            d = -k * sum_dy / m  # constant
            dx = torch.addcmul(torch.addcmul(d, xc, c), dy, k)  # k dy + c (x - mean) + d
        return dx, dweight, dbias, None, None


class BatchNorm2d(nn.Module):
    """Batch normalisation (Ioffe & Szegedy, 2015), from its definition.

    In training, each channel ``c`` of a batch ``x`` of shape ``(N, C, *)`` is normalised
    with the mean and (biased) variance over every axis but the channel axis, then scaled
    and shifted: ``y = (x - μ_B) / sqrt(σ²_B + eps) · weight + bias``. The running
    estimates follow ``r ← (1 - momentum) · r + momentum · s`` with the *unbiased* batch
    variance (``m / (m - 1) · σ²_B``, ``m`` the elements per channel); ``momentum=None``
    gives the cumulative average ``r ← r + (s - r) / t`` over the ``t`` batches seen. In
    eval (and when statistics are not tracked: batch statistics always) the running
    estimates replace the batch ones.

    Parameters
    ----------
    num_features : int
        ``C``.
    eps : float
    momentum : float in [0, 1] or None
    affine : bool
        Learn ``weight`` (ones) and ``bias`` (zeros).
    track_running_stats : bool
        Keep ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked``.

    Notes
    -----
    Same parameters, buffers, state-dict keys and outputs as ``torch.nn.BatchNorm2d`` (the
    tests check agreement to 1e-6 in train and eval mode); any input ``(N, C, *)`` is
    accepted, so it also serves 1-D and 3-D data. The backward pass is the closed form
    above (a custom ``autograd.Function``), not autograd through the formula.

    References
    ----------
    S. Ioffe and C. Szegedy, "Batch Normalization: Accelerating Deep Network Training by
    Reducing Internal Covariate Shift", ICML 2015, arXiv:1502.03167.
    """

    def __init__(self, num_features: int, *, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        self.num_features = check_int(num_features, "BatchNorm2d", "num_features", low=1)
        self.eps = _check_eps(eps, "BatchNorm2d")
        if momentum is not None:
            momentum = check_real(momentum, "BatchNorm2d", "momentum", low=0.0, high=1.0)
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        _affine_parameters(self, num_features)
        if self.track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_channels(x, self.num_features, "BatchNorm2d", "(N, C, *)")
        dims = (0,) + tuple(range(2, x.ndim))
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            m = x.numel() // self.num_features
            if m < 2:
                raise ValueError(f"BatchNorm2d: training needs more than one value per channel "
                                 f"to estimate a variance, got input shape {tuple(x.shape)}")
            xf = _at_least_float32(x)
            y, mean, var = _BatchNormFunction.apply(xf, self.weight, self.bias, self.eps, dims)
            y = y.to(x.dtype)
            if self.training and self.track_running_stats:
                with torch.no_grad():
                    self.num_batches_tracked.add_(1)
                    f = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                         else self.momentum)
                    self.running_mean.lerp_(mean.reshape(-1).to(self.running_mean.dtype), f)
                    unbiased = var.reshape(-1) * (m / (m - 1))
                    self.running_var.lerp_(unbiased.to(self.running_var.dtype), f)
            return y
        shape = (1, -1) + (1,) * (x.ndim - 2)  # (1, C, 1, ...)
        scale = torch.rsqrt(self.running_var + self.eps)
        shift = -self.running_mean * scale
        if self.affine:
            scale = scale * self.weight
            shift = shift * self.weight + self.bias
        return x * scale.view(shape).to(x.dtype) + shift.view(shape).to(x.dtype)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class LayerNorm(nn.Module):
    """Layer normalisation (Ba et al., 2016) over the channel axis, channels last or first.

    ``y = (x - mean) / sqrt(var + eps) · weight + bias`` with the mean and biased
    variance over the ``C`` channels of each position: the last axis of ``(..., C)``
    (``channels_first=False``, as ``torch.nn.LayerNorm(C)``) or axis 1 of
    ``(N, C, *)`` (``channels_first=True``, as ConvNeXt's downsampling layers use it on
    feature maps). The statistics are the same in train and eval mode.

    Parameters
    ----------
    num_channels : int
    eps : float
    elementwise_affine : bool
    channels_first : bool

    References
    ----------
    J. L. Ba, J. R. Kiros and G. E. Hinton, "Layer Normalization", arXiv:1607.06450, 2016.
    """

    def __init__(self, num_channels: int, *, eps: float = 1e-5, elementwise_affine: bool = True,
                 channels_first: bool = False):
        super().__init__()
        self.num_channels = check_int(num_channels, type(self).__name__, "num_channels", low=1)
        self.eps = _check_eps(eps, type(self).__name__)
        self.channels_first = bool(channels_first)
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(num_channels))
            self.bias = nn.Parameter(torch.zeros(num_channels))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = type(self).__name__
        if self.channels_first:
            _check_channels(x, self.num_channels, name, "(N, C, *)")
            dim = 1
            shape = (1, -1) + (1,) * (x.ndim - 2)  # (1, C, 1, ...)
        else:
            if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[-1] != self.num_channels:
                got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise ValueError(f"{name}: input must be (..., C) with C={self.num_channels}, "
                                 f"got {got}")
            dim = -1
            shape = (-1,)
        xf = _at_least_float32(x)
        var, mean = torch.var_mean(xf, dim=dim, correction=0, keepdim=True)
        y = (xf - mean) * torch.rsqrt(var + self.eps)
        if self.weight is not None:
            y = torch.addcmul(self.bias.view(shape), y, self.weight.view(shape))
        return y.to(x.dtype)

    def extra_repr(self) -> str:
        return (f"{self.num_channels}, eps={self.eps}, "
                f"elementwise_affine={self.weight is not None}, "
                f"channels_first={self.channels_first}")


class LayerNorm2d(LayerNorm):
    """:class:`LayerNorm` over the channels of ``(N, C, H, W)`` feature maps
    (``channels_first=True``), for ``norm_layer=`` injection into CNNs."""

    def __init__(self, num_channels: int, *, eps: float = 1e-6, elementwise_affine: bool = True):
        super().__init__(num_channels, eps=eps, elementwise_affine=elementwise_affine,
                         channels_first=True)


class _GroupNormFunction(torch.autograd.Function):
    """Group normalisation of ``x`` ``(N, C, L)`` with per-channel ``weight`` and ``bias``,
    and its backward pass written out (as :class:`_BatchNormFunction`, per group ``(n, g)``
    of ``m = C / G · L`` elements, ``x̂`` normalised, ``g = dy · weight``)::

        dx = (g - mean(g) - x̂ · mean(g x̂)) / sqrt(var + eps)
        dweight_c = Σ_{n, l} dy x̂,   dbias_c = Σ_{n, l} dy
    """

    @staticmethod
    def forward(ctx, x, weight, bias, groups, eps):
        N, C, L = x.shape
        xg = x.reshape(N, groups, -1)  # (N, G, C/G * L)
        var, mean = torch.var_mean(xg, dim=-1, correction=0, keepdim=True)  # (N, G, 1)
        inv_std = torch.rsqrt(var + eps)
        per_ch = lambda t: t.expand(N, groups, C // groups).reshape(N, C, 1)  # noqa: E731
        scale = per_ch(inv_std)  # (N, C, 1)
        shift = -per_ch(mean) * scale
        if weight is not None:
            scale = scale * weight.view(1, C, 1)
            shift = shift * weight.view(1, C, 1) + bias.view(1, C, 1)
        ctx.groups = groups
        ctx.save_for_backward(x, mean, inv_std, weight)
        return torch.addcmul(shift, x, scale)  # (N, C, L)

    @staticmethod
    def backward(ctx, dy):
        x, mean, inv_std, weight = ctx.saved_tensors
        N, C, L = x.shape
        G = ctx.groups
        x_hat = ((x.reshape(N, G, -1) - mean) * inv_std).reshape(N, C, L)
        dweight = dbias = None
        if weight is not None:
            if ctx.needs_input_grad[1]:
                dweight = (dy * x_hat).sum(dim=(0, 2))
            if ctx.needs_input_grad[2]:
                dbias = dy.sum(dim=(0, 2))
        dx = None
        if ctx.needs_input_grad[0]:
            g = dy if weight is None else dy * weight.view(1, C, 1)
            gg, xg = g.reshape(N, G, -1), x_hat.reshape(N, G, -1)  # (N, G, C/G * L)
            mean_g = gg.mean(dim=-1, keepdim=True)
            mean_gx = (gg * xg).mean(dim=-1, keepdim=True)
            dx = ((gg - mean_g - xg * mean_gx) * inv_std).reshape(N, C, L)
        return dx, dweight, dbias, None, None


class GroupNorm(nn.Module):
    """Group normalisation (Wu & He, 2018).

    The ``C`` channels of ``(N, C, *)`` are split into ``num_groups`` consecutive groups;
    each sample's group is normalised by its own mean and biased variance (over the
    group's channels and all positions), then each channel is scaled and shifted.
    Independent of the batch, identical in train and eval. ``num_groups=1`` is a layer
    norm over ``(C, H, W)``, ``num_groups=C`` an instance norm. The backward pass is
    written out (a custom ``autograd.Function``).

    Parameters
    ----------
    num_groups : int
        Must divide ``num_channels``.
    num_channels : int
    eps : float
    affine : bool

    References
    ----------
    Y. Wu and K. He, "Group Normalization", ECCV 2018, arXiv:1803.08494.
    """

    def __init__(self, num_groups: int, num_channels: int, *, eps: float = 1e-5,
                 affine: bool = True):
        super().__init__()
        self.num_groups = check_int(num_groups, "GroupNorm", "num_groups", low=1)
        self.num_channels = check_int(num_channels, "GroupNorm", "num_channels", low=1)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_groups must divide num_channels={num_channels}, "
                             f"got {num_groups}")
        self.eps = _check_eps(eps, "GroupNorm")
        self.affine = bool(affine)
        _affine_parameters(self, num_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_channels(x, self.num_channels, "GroupNorm", "(N, C, *)")
        x3 = _at_least_float32(x).reshape(x.shape[0], self.num_channels, -1)  # (N, C, L)
        y = _GroupNormFunction.apply(x3, self.weight, self.bias, self.num_groups, self.eps)
        return y.reshape(x.shape).to(x.dtype)  # (N, C, *)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class LocalResponseNorm(nn.Module):
    """Local response normalisation across channels (Krizhevsky et al., 2012).

    ``b_c = a_c / (k + alpha / size · Σ_{c'} a_{c'}²) ** beta`` with the sum over the
    window ``c' ∈ [c - size // 2, c + (size - 1) // 2]`` clipped to the valid channels
    (zero padding; the division by ``size`` is fixed, as in ``torch.nn.LocalResponseNorm``).
    No parameters; identical in train and eval.

    Parameters
    ----------
    size : int
        Channels in the window.
    alpha, beta, k : float

    References
    ----------
    A. Krizhevsky, I. Sutskever and G. E. Hinton, "ImageNet Classification with Deep
    Convolutional Neural Networks", NeurIPS 2012, section 3.3.
    """

    def __init__(self, size: int, *, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size = check_int(size, "LocalResponseNorm", "size", low=1)
        self.alpha = check_real(alpha, "LocalResponseNorm", "alpha")
        self.beta = check_real(beta, "LocalResponseNorm", "beta")
        self.k = check_real(k, "LocalResponseNorm", "k")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim < 3:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"LocalResponseNorm: input must be (N, C, *) with at least 3 "
                             f"dimensions, got {got}")
        C = x.shape[1]
        sq = x * x
        before, after = self.size // 2, (self.size - 1) // 2
        pad = [0, 0] * (x.ndim - 2) + [before, after]  # F.pad lists the last axis first
        sq = F.pad(sq, pad)  # (N, C + size - 1, *)
        window = sq.narrow(1, 0, C)
        for offset in range(1, self.size):
            window = window + sq.narrow(1, offset, C)  # (N, C, *)
        return x / (self.k + self.alpha / self.size * window).pow(self.beta)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _norm_except(v: torch.Tensor, dim: int | None) -> torch.Tensor:
    """Euclidean norm of ``v`` over every axis but ``dim`` (all axes when ``dim`` is None),
    with ``dim`` kept as a size-``v.shape[dim]`` axis and the others as size-1 axes."""
    if dim is None:
        return v.norm()
    axes = [a for a in range(v.ndim) if a != dim % v.ndim]
    return v.square().sum(dim=axes, keepdim=True).sqrt()


class WeightNorm(nn.Module):
    """The weight-normalisation reparametrisation ``w = g · v / ||v||`` (Salimans & Kingma).

    A parametrisation for ``torch.nn.utils.parametrize``: ``forward(g, v)`` builds the
    weight, ``right_inverse(w)`` gives ``g = ||w||`` and ``v = w``. Use it through
    :func:`weight_norm`.
    """

    def __init__(self, dim: int | None = 0):
        super().__init__()
        self.dim = dim

    def forward(self, weight_g: torch.Tensor, weight_v: torch.Tensor) -> torch.Tensor:
        return weight_v * (weight_g / _norm_except(weight_v, self.dim))

    def right_inverse(self, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _norm_except(weight, self.dim), weight


def weight_norm(module: nn.Module, *, name: str = "weight", dim: int | None = 0) -> nn.Module:
    """Reparametrise ``module.<name>`` as ``g · v / ||v||`` (Salimans & Kingma, 2016).

    The direction ``v`` and the length ``g`` (one per slice along ``dim``: per output
    channel for ``dim=0``) are learned separately; the norm is over every other axis.

    Parameters
    ----------
    module : nn.Module
        E.g. ``nn.Conv2d`` or ``nn.Linear``; changed in place and returned.
    name : str
        The parameter to reparametrise.
    dim : int or None
        Axis that keeps one length per slice; None: one length for the whole tensor.

    Returns
    -------
    nn.Module
        ``module``, whose ``parametrizations.<name>.original0`` is ``g`` and
        ``original1`` is ``v`` (the same keys as
        ``torch.nn.utils.parametrizations.weight_norm``, so state dicts interchange).

    References
    ----------
    T. Salimans and D. P. Kingma, "Weight Normalization: A Simple Reparameterization to
    Accelerate Training of Deep Neural Networks", NeurIPS 2016, arXiv:1602.07868.
    """
    from torch.nn.utils import parametrize

    if not isinstance(module, nn.Module):
        raise TypeError(f"weight_norm: module must be a torch.nn.Module, got "
                        f"{type(module).__name__}")
    param = getattr(module, name, None) if isinstance(name, str) else None
    if not isinstance(param, torch.Tensor):
        raise ValueError(f"weight_norm: module must have a tensor parameter {name!r}, got "
                         f"{type(module).__name__} without it")
    if dim is not None:
        dim = check_int(dim, "weight_norm", "dim", low=-param.ndim, high=param.ndim - 1)
    parametrize.register_parametrization(module, name, WeightNorm(dim), unsafe=True)
    return module
