"""Recurrent cells and layers written out: LSTM (Hochreiter & Schmidhuber, 1997) and GRU
(Cho et al., 2014), with the gate order and equations of ``torch.nn.LSTM`` / ``GRU``.

Parameter layout
----------------
An LSTM layer from ``m`` inputs to ``n`` hidden units holds ``W`` ``(4n, m)``, ``U``
``(4n, n)`` and **one** bias ``b`` ``(4n)``: ``4(mn + n² + n)`` parameters, the count in
the lecture notes. torch's LSTM keeps two bias vectors, ``bias_ih`` and ``bias_hh``, that
only ever appear as their sum, so it has ``4(mn + n² + 2n)``; :meth:`LSTMCell.from_torch`
copies ``W = weight_ih``, ``U = weight_hh``, ``b = bias_ih + bias_hh`` and the two compute
the same function.

A GRU cannot merge its biases that way: the candidate is
``tanh(W_n x + b_in + r ⊙ (U_n h + b_hn))``, and ``b_hn`` sits inside the reset gate.
Our GRU keeps ``b`` ``(3n)`` (``b_ir + b_hr``, ``b_iz + b_hz``, ``b_in``) and ``b_hn``
``(n)``: ``3(mn + n² + n) + n`` parameters, against torch's ``3(mn + n² + 2n)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cvgeo._checks import check_int, describe

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "LSTMState"]

LSTMState = tuple[torch.Tensor, torch.Tensor]


def _init_uniform(module: nn.Module, hidden_size: int) -> None:
    """torch's default: every parameter ``U(-1/sqrt(n), 1/sqrt(n))``."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        nn.init.uniform_(p, -bound, bound)


def _check_step(x: torch.Tensor, size: int, func: str) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != size:
        raise ValueError(f"{func}: input must be (B, {size}), got {describe(x)}")


def _copy_matrices(cell: nn.Module, module: nn.Module, sfx: str, func: str) -> None:
    """Copy torch's ``weight_ih{sfx}`` and ``weight_hh{sfx}`` into ``cell`` (shapes checked)."""
    w_ih, w_hh = getattr(module, f"weight_ih{sfx}"), getattr(module, f"weight_hh{sfx}")
    if w_ih.shape != cell.weight_ih.shape or w_hh.shape != cell.weight_hh.shape:
        raise ValueError(f"{func}: shapes {tuple(w_ih.shape)}, {tuple(w_hh.shape)} do not fit "
                         f"{tuple(cell.weight_ih.shape)}, {tuple(cell.weight_hh.shape)}")
    cell.weight_ih.copy_(w_ih)
    cell.weight_hh.copy_(w_hh)


class LSTMCell(nn.Module):
    """One LSTM step.

    ``[i, f, g, o] = W x + U h + b`` (each ``n`` wide), ``c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)``,
    ``h' = σ(o) ⊙ tanh(c')``.

    Parameters
    ----------
    input_size : int
        ``m``.
    hidden_size : int
        ``n``.

    Notes
    -----
    Parameters: ``weight_ih`` ``(4n, m)``, ``weight_hh`` ``(4n, n)``, ``bias`` ``(4n)``,
    gates in torch's order ``i, f, g, o``; ``4(mn + n² + n)`` in all (see the module notes
    for torch's two biases).
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = check_int(input_size, "LSTMCell", "input_size", low=1)
        self.hidden_size = n = check_int(hidden_size, "LSTMCell", "hidden_size", low=1)
        self.weight_ih = nn.Parameter(torch.empty(4 * n, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * n, n))
        self.bias = nn.Parameter(torch.empty(4 * n))
        _init_uniform(self, n)

    def forward(self, x: torch.Tensor, state: LSTMState | None = None) -> LSTMState:
        """``x (B, m)``, ``state = (h, c)`` each ``(B, n)`` (zeros if None) → ``(h', c')``."""
        _check_step(x, self.input_size, "LSTMCell")
        if state is None:
            z = x.new_zeros(x.shape[0], self.hidden_size)
            state = (z, z)
        h, c = state
        gates = x @ self.weight_ih.T + h @ self.weight_hh.T + self.bias  # (B, 4n)
        i, f, g, o = gates.chunk(4, dim=1)  # each (B, n)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c

    @torch.no_grad()
    def copy_from_torch(self, lstm: nn.LSTM | nn.LSTMCell, layer: int = 0) -> LSTMCell:
        """Load ``weight_ih``, ``weight_hh`` and ``bias_ih + bias_hh`` of torch's LSTM
        (layer ``layer``) or LSTMCell; returns self."""
        sfx = f"_l{layer}" if isinstance(lstm, nn.LSTM) else ""
        _copy_matrices(self, lstm, sfx, "LSTMCell.copy_from_torch")
        b = torch.zeros_like(self.bias)
        for name in (f"bias_ih{sfx}", f"bias_hh{sfx}"):
            if getattr(lstm, name, None) is not None:
                b += getattr(lstm, name)
        self.bias.copy_(b)
        return self

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class GRUCell(nn.Module):
    """One GRU step, as ``torch.nn.GRUCell``.

    ``r = σ(W_r x + U_r h + b_r)``, ``z = σ(W_z x + U_z h + b_z)``,
    ``ñ = tanh(W_n x + b_n + r ⊙ (U_n h + b_hn))``, ``h' = (1 - z) ⊙ ñ + z ⊙ h``.

    Notes
    -----
    Parameters: ``weight_ih`` ``(3n, m)``, ``weight_hh`` ``(3n, n)``, ``bias`` ``(3n)``
    (gates ``r, z, n``) and ``bias_hn`` ``(n)``: ``3(mn + n² + n) + n`` in all.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = check_int(input_size, "GRUCell", "input_size", low=1)
        self.hidden_size = n = check_int(hidden_size, "GRUCell", "hidden_size", low=1)
        self.weight_ih = nn.Parameter(torch.empty(3 * n, input_size))
        self.weight_hh = nn.Parameter(torch.empty(3 * n, n))
        self.bias = nn.Parameter(torch.empty(3 * n))
        self.bias_hn = nn.Parameter(torch.empty(n))
        _init_uniform(self, n)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, m)``, ``h (B, n)`` (zeros if None) → ``h' (B, n)``."""
        _check_step(x, self.input_size, "GRUCell")
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        n = self.hidden_size
        gx = x @ self.weight_ih.T + self.bias  # (B, 3n)
        gh = h @ self.weight_hh.T  # (B, 3n)
        r = torch.sigmoid(gx[:, :n] + gh[:, :n])
        z = torch.sigmoid(gx[:, n:2 * n] + gh[:, n:2 * n])
        cand = torch.tanh(gx[:, 2 * n:] + r * (gh[:, 2 * n:] + self.bias_hn))
        return (1 - z) * cand + z * h

    @torch.no_grad()
    def copy_from_torch(self, gru: nn.GRU | nn.GRUCell, layer: int = 0) -> GRUCell:
        """Load torch's GRU (layer ``layer``) or GRUCell weights; returns self."""
        sfx = f"_l{layer}" if isinstance(gru, nn.GRU) else ""
        _copy_matrices(self, gru, sfx, "GRUCell.copy_from_torch")
        n = self.hidden_size
        b_ih = getattr(gru, f"bias_ih{sfx}", None)
        b_hh = getattr(gru, f"bias_hh{sfx}", None)
        b_ih = torch.zeros(3 * n) if b_ih is None else b_ih
        b_hh = torch.zeros(3 * n) if b_hh is None else b_hh
        self.bias.copy_(torch.cat([b_ih[:2 * n] + b_hh[:2 * n], b_ih[2 * n:]]))
        self.bias_hn.copy_(b_hh[2 * n:])
        return self

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class _Recurrent(nn.Module):
    """A stack of cells unrolled over time, batch first."""

    cell_cls: type[nn.Module]
    name: str

    def __init__(self, input_size: int, hidden_size: int, *, num_layers: int = 1,
                 dropout: float = 0.0):
        super().__init__()
        self.input_size = check_int(input_size, self.name, "input_size", low=1)
        self.hidden_size = check_int(hidden_size, self.name, "hidden_size", low=1)
        self.num_layers = check_int(num_layers, self.name, "num_layers", low=1)
        if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):
            raise ValueError(f"{self.name}: dropout must be a probability in [0, 1), got "
                             f"{dropout!r}")
        self.cells = nn.ModuleList(
            self.cell_cls(input_size if i == 0 else hidden_size, hidden_size)
            for i in range(num_layers))
        self.drop = nn.Dropout(dropout)

    def _check(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"{self.name}: input must be (B, T, {self.input_size}), got "
                             f"{describe(x)}")

    @torch.no_grad()
    def copy_from_torch(self, module) -> _Recurrent:
        """Load every layer of torch's ``nn.LSTM`` / ``nn.GRU`` (``batch_first`` either);
        returns self."""
        if getattr(module, "num_layers", None) != self.num_layers:
            raise ValueError(f"{self.name}.copy_from_torch: {self.num_layers} layers here, got "
                             f"{describe(module)} with {getattr(module, 'num_layers', None)}")
        for i, cell in enumerate(self.cells):
            cell.copy_from_torch(module, layer=i)
        return self


class LSTM(_Recurrent):
    """A multi-layer LSTM, batch first: ``(B, T, m)`` → outputs ``(B, T, n)`` and the last
    state ``(h, c)``, each ``(num_layers, B, n)``, as ``torch.nn.LSTM(batch_first=True)``.

    Parameters
    ----------
    input_size, hidden_size : int
    num_layers : int
    dropout : float
        Between layers (not after the last), in training.
    """

    cell_cls = LSTMCell
    name = "LSTM"

    def forward(self, x: torch.Tensor, state: LSTMState | None = None
                ) -> tuple[torch.Tensor, LSTMState]:
        self._check(x)
        B, T, _ = x.shape
        hs, cs = [], []
        for i, cell in enumerate(self.cells):
            s = None if state is None else (state[0][i], state[1][i])
            outs = []
            for t in range(T):
                s = cell(x[:, t], s)
                outs.append(s[0])
            x = torch.stack(outs, dim=1)  # (B, T, n)
            if i < self.num_layers - 1:
                x = self.drop(x)
            hs.append(s[0])
            cs.append(s[1])
        return x, (torch.stack(hs), torch.stack(cs))


class GRU(_Recurrent):
    """A multi-layer GRU, batch first: ``(B, T, m)`` → outputs ``(B, T, n)`` and the last
    hidden state ``(num_layers, B, n)``, as ``torch.nn.GRU(batch_first=True)``."""

    cell_cls = GRUCell
    name = "GRU"

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        self._check(x)
        B, T, _ = x.shape
        last = []
        for i, cell in enumerate(self.cells):
            s = None if h is None else h[i]
            outs = []
            for t in range(T):
                s = cell(x[:, t], s)
                outs.append(s)
            x = torch.stack(outs, dim=1)  # (B, T, n)
            if i < self.num_layers - 1:
                x = self.drop(x)
            last.append(s)
        return x, torch.stack(last)
