"""deep.layers.rnn: our LSTM and GRU equal torch's with copied weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deep.layers.rnn import GRU, LSTM, GRUCell, LSTMCell


def _n(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("m,n", [(3, 5), (16, 32)])
def test_parameter_counts(m, n):
    assert _n(LSTMCell(m, n)) == 4 * (m * n + n * n + n)  # the notes' count
    assert _n(nn.LSTMCell(m, n)) == 4 * (m * n + n * n + 2 * n)  # torch: two biases
    assert _n(GRUCell(m, n)) == 3 * (m * n + n * n + n) + n
    assert _n(nn.GRUCell(m, n)) == 3 * (m * n + n * n + 2 * n)


def test_lstm_equals_torch_with_copied_weights():
    torch.manual_seed(0)
    ref = nn.LSTM(6, 9, num_layers=2, batch_first=True)
    ours = LSTM(6, 9, num_layers=2).copy_from_torch(ref)
    x = torch.randn(4, 7, 6)
    h0, c0 = torch.randn(2, 4, 9), torch.randn(2, 4, 9)
    out, (h, c) = ours(x, (h0, c0))
    out_r, (h_r, c_r) = ref(x, (h0, c0))
    torch.testing.assert_close(out, out_r, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h, h_r, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(c, c_r, rtol=1e-5, atol=1e-6)


def test_lstm_gradients_equal_torch():
    torch.manual_seed(1)
    ref = nn.LSTM(4, 5, batch_first=True)
    ours = LSTM(4, 5).copy_from_torch(ref)
    x = torch.randn(2, 6, 4, requires_grad=True)
    (g,) = torch.autograd.grad(ours(x)[0].square().sum(), x)
    (g_r,) = torch.autograd.grad(ref(x)[0].square().sum(), x)
    torch.testing.assert_close(g, g_r, rtol=1e-4, atol=1e-6)


def test_gru_equals_torch_with_copied_weights():
    torch.manual_seed(2)
    ref = nn.GRU(6, 9, num_layers=2, batch_first=True)
    ours = GRU(6, 9, num_layers=2).copy_from_torch(ref)
    x = torch.randn(4, 7, 6)
    h0 = torch.randn(2, 4, 9)
    out, h = ours(x, h0)
    out_r, h_r = ref(x, h0)
    torch.testing.assert_close(out, out_r, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h, h_r, rtol=1e-5, atol=1e-6)


def test_cells_equal_torch_cells():
    torch.manual_seed(3)
    x, h, c = torch.randn(5, 3), torch.randn(5, 4), torch.randn(5, 4)
    ref = nn.LSTMCell(3, 4)
    h1, c1 = LSTMCell(3, 4).copy_from_torch(ref)(x, (h, c))
    h_r, c_r = ref(x, (h, c))
    torch.testing.assert_close(h1, h_r)
    torch.testing.assert_close(c1, c_r)
    ref_g = nn.GRUCell(3, 4)
    torch.testing.assert_close(GRUCell(3, 4).copy_from_torch(ref_g)(x, h), ref_g(x, h))
    # Without a bias the nonzero b_hn must be gone too.
    ref_nb = nn.GRUCell(3, 4, bias=False)
    torch.testing.assert_close(GRUCell(3, 4).copy_from_torch(ref_nb)(x, h), ref_nb(x, h))


def test_errors():
    with pytest.raises(ValueError, match=r"LSTMCell: input must be \(B, 3\)"):
        LSTMCell(3, 4)(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"LSTM: input must be \(B, T, 3\)"):
        LSTM(3, 4)(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="LSTMCell.copy_from_torch: shapes"):
        LSTMCell(3, 4).copy_from_torch(nn.LSTMCell(3, 5))
    with pytest.raises(ValueError, match="GRU.copy_from_torch: 1 layers here"):
        GRU(3, 4).copy_from_torch(nn.GRU(3, 4, num_layers=2))
    with pytest.raises(ValueError, match="LSTM: dropout must be"):
        LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="GRUCell: hidden_size must be an int >= 1"):
        GRUCell(3, 0)
