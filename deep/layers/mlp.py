"""Token-wise feed-forward layers: the ViT MLP, SwiGLU, and a mixture of experts.

All three share the constructor shape ``Layer(in_features, *, hidden_features=...,
out_features=..., drop=...)`` so any of them can be injected into
:class:`deep.layers.Block` as ``mlp_layer=``. They act on the last axis: input
``(..., D_in)``, output ``(..., D_out)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Mlp", "SwiGLU", "MoE", "Routing", "moe_aux_loss"]


def _check_features(func: str, in_features, hidden_features, out_features, drop):
    for name, v in (("in_features", in_features), ("hidden_features", hidden_features),
                     ("out_features", out_features)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{func}: {name} must be a positive int, got {v!r}")
    if not (isinstance(drop, (int, float)) and 0.0 <= drop < 1.0):
        raise ValueError(f"{func}: drop must be a probability in [0, 1), got {drop!r}")


class Mlp(nn.Module):
    """Two-layer perceptron ``fc2(drop(act(fc1(x))))`` with GELU: the transformer's FFN.

    Parameters
    ----------
    in_features : int
    hidden_features : int, optional
        Defaults to ``4 * in_features``.
    out_features : int, optional
        Defaults to ``in_features``.
    act_layer : callable
        Activation module class (``nn.GELU``).
    drop : float
        Dropout after the activation and after ``fc2``.
    bias : bool
    """

    def __init__(self, in_features: int, *, hidden_features: int | None = None,
                 out_features: int | None = None, act_layer: Callable[[], nn.Module] = nn.GELU,
                 drop: float = 0.0, bias: bool = True):
        super().__init__()
        hidden_features = hidden_features if hidden_features is not None else 4 * in_features
        out_features = out_features if out_features is not None else in_features
        _check_features("Mlp", in_features, hidden_features, out_features, drop)
        self.fc1 = nn.Linear(in_features, hidden_features, bias=bias)
        self.act = act_layer()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_features, out_features, bias=bias)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop1(self.act(self.fc1(x)))  # (..., hidden)
        return self.drop2(self.fc2(x))  # (..., out)


class SwiGLU(nn.Module):
    """Gated linear unit with a Swish gate (Shazeer, 2020).

    ``SwiGLU(x) = W2 (silu(W_g x) ⊙ (W_x x))`` with ``silu(z) = z · sigmoid(z)``.

    Parameters
    ----------
    in_features : int
    hidden_features : int, optional
        Width of the gated layer; defaults to ``4 * in_features``. SwiGLU has three
        weight matrices where :class:`Mlp` has two, so LLaMA-style models use
        ``hidden = 2/3 · 4 · D`` to keep the parameter count.
    out_features : int, optional
    drop : float
        Dropout after the gating and after ``fc2``.
    bias : bool

    References
    ----------
    N. Shazeer, "GLU Variants Improve Transformer", arXiv:2002.05202, 2020.
    """

    def __init__(self, in_features: int, *, hidden_features: int | None = None,
                 out_features: int | None = None, drop: float = 0.0, bias: bool = True):
        super().__init__()
        hidden_features = hidden_features if hidden_features is not None else 4 * in_features
        out_features = out_features if out_features is not None else in_features
        _check_features("SwiGLU", in_features, hidden_features, out_features, drop)
        self.fc1_g = nn.Linear(in_features, hidden_features, bias=bias)  # gate, W_g
        self.fc1_x = nn.Linear(in_features, hidden_features, bias=bias)  # value, W_x
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_features, out_features, bias=bias)  # W_2
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.fc1_g(x)) * self.fc1_x(x)  # (..., hidden)
        return self.drop2(self.fc2(self.drop1(h)))  # (..., out)


@dataclass(frozen=True)
class Routing:
    """How :class:`MoE` routed ``T`` tokens to its experts.

    Attributes
    ----------
    indices : Tensor of shape (T, top_k), int64
        The chosen experts of each token, best first.
    weights : Tensor of shape (T, top_k)
        Softmax of the router logits over the chosen experts only: each row sums to 1.
    probs : Tensor of shape (T, num_experts)
        Softmax of the router logits over all experts (used by the auxiliary loss).
    aux_loss : Tensor, scalar
        Switch-style load-balancing loss ``E · Σ_i f_i P_i`` (see :class:`MoE`).
    """

    indices: torch.Tensor
    weights: torch.Tensor
    probs: torch.Tensor
    aux_loss: torch.Tensor


class MoE(nn.Module):
    """Sparse mixture of experts: each token goes to its ``top_k`` best experts.

    A linear router scores the ``E`` experts for every token; the ``top_k`` highest are
    evaluated and their outputs mixed with weights ``softmax`` over the selected logits,
    so the weights of a token sum to 1. A drop-in ``mlp_layer`` for :class:`Block`.

    Parameters
    ----------
    in_features : int
    hidden_features : int, optional
        Hidden width of each expert (default ``4 * in_features``).
    out_features : int, optional
    num_experts : int
        ``E``, at least 2.
    top_k : int
        Experts per token, in ``[1, E]``. With ``top_k=1`` the mixing weight is always 1
        and the router learns only through :attr:`aux_loss`.
    expert_layer : callable
        ``expert_layer(in_features, hidden_features=..., out_features=..., drop=...)``
        builds one expert (:class:`Mlp` by default; :class:`SwiGLU` works too).
    drop : float

    Attributes
    ----------
    aux_loss : Tensor or None
        The load-balancing loss of the last forward pass (None before the first). Add
        ``aux_loss_weight * moe_aux_loss(model)`` to the training loss.

    Notes
    -----
    The auxiliary loss is the Switch Transformer's ``E · Σ_i f_i · P_i``, with ``f_i`` the
    fraction of the ``T · top_k`` token-to-expert assignments that went to expert ``i``
    and ``P_i`` the mean router probability of expert ``i`` over the tokens. It equals 1
    when routing is uniform (``f_i = P_i = 1/E``) and grows towards ``E`` as routing
    collapses onto one expert.

    References
    ----------
    N. Shazeer et al., "Outrageously Large Neural Networks: The Sparsely-Gated
    Mixture-of-Experts Layer", ICLR 2017. W. Fedus, B. Zoph, N. Shazeer, "Switch
    Transformers", JMLR 23 (2022), eq. (4).
    """

    def __init__(self, in_features: int, *, hidden_features: int | None = None,
                 out_features: int | None = None, num_experts: int = 4, top_k: int = 2,
                 expert_layer: Callable[..., nn.Module] = Mlp, drop: float = 0.0):
        super().__init__()
        hidden_features = hidden_features if hidden_features is not None else 4 * in_features
        out_features = out_features if out_features is not None else in_features
        _check_features("MoE", in_features, hidden_features, out_features, drop)
        if isinstance(num_experts, bool) or not isinstance(num_experts, int) or num_experts < 2:
            raise ValueError(f"MoE: num_experts must be an int >= 2, got {num_experts!r}")
        if (isinstance(top_k, bool) or not isinstance(top_k, int)
                or not 1 <= top_k <= num_experts):
            raise ValueError(f"MoE: top_k must be an int in [1, num_experts={num_experts}], got "
                             f"{top_k!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.num_experts = num_experts
        self.top_k = top_k
        self.router = nn.Linear(in_features, num_experts, bias=False)
        self.experts = nn.ModuleList(
            expert_layer(in_features, hidden_features=hidden_features,
                         out_features=out_features, drop=drop)
            for _ in range(num_experts)
        )
        self.aux_loss: torch.Tensor | None = None

    def route(self, tokens: torch.Tensor) -> Routing:
        """Route ``(T, D)`` tokens: top-k experts, their weights, and the auxiliary loss."""
        if tokens.ndim != 2 or tokens.shape[1] != self.in_features:
            raise ValueError(f"MoE.route: tokens must be (T, {self.in_features}), got shape "
                             f"{tuple(tokens.shape)}")
        logits = self.router(tokens)  # (T, E)
        top_logits, indices = logits.topk(self.top_k, dim=-1)  # (T, k), (T, k)
        weights = top_logits.softmax(dim=-1)  # (T, k), rows sum to 1
        probs = logits.softmax(dim=-1)  # (T, E)
        # f_i: fraction of the T*k assignments that chose expert i; P_i: mean probability.
        counts = torch.zeros(self.num_experts, device=tokens.device, dtype=probs.dtype)
        counts.index_add_(0, indices.reshape(-1),
                          torch.ones(indices.numel(), device=tokens.device, dtype=probs.dtype))
        f = counts / max(indices.numel(), 1)  # (E,)
        P = probs.mean(dim=0)  # (E,)
        aux = self.num_experts * (f * P).sum()
        return Routing(indices=indices, weights=weights, probs=probs, aux_loss=aux)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"MoE: input must have last dimension {self.in_features}, got shape "
                             f"{tuple(x.shape)}")
        lead = x.shape[:-1]
        tokens = x.reshape(-1, self.in_features)  # (T, D), T = prod(lead)
        routing = self.route(tokens)
        self.aux_loss = routing.aux_loss
        out = None
        for e, expert in enumerate(self.experts):
            token_idx, slot = (routing.indices == e).nonzero(as_tuple=True)  # (T_e,), (T_e,)
            w = routing.weights[token_idx, slot].unsqueeze(-1)  # (T_e, 1)
            y = w * expert(tokens[token_idx])  # (T_e, D_out); dtype follows autocast
            if out is None:
                out = y.new_zeros(tokens.shape[0], self.out_features)  # (T, D_out)
            out = out.index_add(0, token_idx, y.to(out.dtype))  # (T, D_out)
        return out.reshape(*lead, self.out_features)  # (..., D_out)

    def extra_repr(self) -> str:
        return f"num_experts={self.num_experts}, top_k={self.top_k}"


def moe_aux_loss(model: nn.Module) -> torch.Tensor | None:
    """Sum of the :attr:`MoE.aux_loss` of every MoE layer in ``model`` (None if it has none)."""
    losses = [m.aux_loss for m in model.modules() if isinstance(m, MoE) and m.aux_loss is not None]
    return torch.stack(losses).sum() if losses else None
