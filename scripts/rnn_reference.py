"""PyTorch reference computation for recur's RNN/LSTM/GRU tests.

Shared by gen_reference.py (versioned fixtures) and check_against_torch.py
(randomized acceptance check against the `recur` CLI). Everything here works
on numpy arrays in and numpy arrays out; torch is only used to compute.

Needs PyTorch (Debian's is at /usr/bin/python3).
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")


@dataclass
class RnnConfig:
    mode: str
    input_size: int
    hidden_size: int
    num_layers: int = 1
    proj_size: int = 0
    bias: bool = True
    batch_first: bool = False
    bidirectional: bool = False

    @property
    def num_directions(self):
        return 2 if self.bidirectional else 1

    @property
    def out_size(self):
        """Size of h (and of each direction's slice of output)."""
        return self.proj_size if self.proj_size > 0 else self.hidden_size

    def h0_shape(self, batch):
        return (self.num_layers * self.num_directions, batch, self.out_size)

    def c0_shape(self, batch):
        return (self.num_layers * self.num_directions, batch, self.hidden_size)

    def input_shape(self, seq_len, batch):
        if self.batch_first:
            return (batch, seq_len, self.input_size)
        return (seq_len, batch, self.input_size)

    def output_shape(self, seq_len, batch):
        size = self.num_directions * self.out_size
        if self.batch_first:
            return (batch, seq_len, size)
        return (seq_len, batch, size)


def make_module(cfg):
    """The torch.nn module for `cfg`, in float64."""
    common = dict(
        input_size=cfg.input_size,
        hidden_size=cfg.hidden_size,
        num_layers=cfg.num_layers,
        bias=cfg.bias,
        batch_first=cfg.batch_first,
        bidirectional=cfg.bidirectional,
    )
    if cfg.mode == "lstm":
        module = torch.nn.LSTM(proj_size=cfg.proj_size, **common)
    elif cfg.proj_size:
        raise ValueError("proj_size is only supported for lstm")
    elif cfg.mode == "gru":
        module = torch.nn.GRU(**common)
    elif cfg.mode in ("rnn_tanh", "rnn_relu"):
        module = torch.nn.RNN(nonlinearity=cfg.mode[4:], **common)
    else:
        raise ValueError(f"unknown mode {cfg.mode!r}")
    return module.double()


def parameter_shapes(cfg):
    """[(state_dict name, shape), ...] in PyTorch's own order."""
    module = make_module(cfg)
    return [(name, tuple(p.shape)) for name, p in module.named_parameters()]


def padding_mask(cfg, seq_len, batch, lengths):
    """Boolean array shaped like input[..., 0]: True at padded steps (t >= length)."""
    t = np.arange(seq_len)
    if lengths is None:
        mask = np.zeros((seq_len, batch), dtype=bool)
    else:
        mask = t[:, None] >= np.asarray(lengths)[None, :]
    return mask.T.copy() if cfg.batch_first else mask


def run_reference(cfg, params, x, lengths=None, h0=None, c0=None,
                  grad_output=None, grad_hn=None, grad_cn=None,
                  dtype=torch.float64):
    """Run the module forward (and backward if grad_output is given).

    params: dict state_dict name -> array. x: input array, [T,B,I] or [B,T,I].
    lengths: list of B ints or None (full length). With lengths, the input
    goes through pack_padded_sequence(enforce_sorted=False) and the output
    through pad_packed_sequence(total_length=T), so output has T steps and
    zeros at padded positions.

    The backward pass differentiates
        L = sum(output * grad_output) + sum(h_n * grad_hn) + sum(c_n * grad_cn)
    (terms with a None weight are left out).

    Returns a dict of numpy arrays (in `dtype`): "output", "h_n", ["c_n"],
    and with backward "grad.<param>", "grad.input", ["grad.h0"], ["grad.c0"].
    """
    module = make_module(cfg).to(dtype)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.as_tensor(np.asarray(params[name]), dtype=dtype))

    backward = grad_output is not None

    def leaf(a):
        if a is None:
            return None
        return torch.tensor(np.asarray(a), dtype=dtype, requires_grad=backward)

    x_t = leaf(x)
    h0_t = leaf(h0)
    c0_t = leaf(c0)
    seq_len = x_t.shape[1] if cfg.batch_first else x_t.shape[0]

    if cfg.mode == "lstm":
        if (h0_t is None) != (c0_t is None):
            raise ValueError("lstm needs both h0 and c0 or neither")
        hx = None if h0_t is None else (h0_t, c0_t)
    else:
        hx = h0_t

    if lengths is None:
        out, state = module(x_t, hx)
    else:
        packed = pack_padded_sequence(
            x_t, torch.as_tensor(list(lengths), dtype=torch.int64),
            batch_first=cfg.batch_first, enforce_sorted=False)
        packed_out, state = module(packed, hx)
        out, _ = pad_packed_sequence(
            packed_out, batch_first=cfg.batch_first, total_length=seq_len)

    if cfg.mode == "lstm":
        h_n, c_n = state
    else:
        h_n, c_n = state, None

    result = {
        "output": out.detach().numpy().copy(),
        "h_n": h_n.detach().numpy().copy(),
    }
    if c_n is not None:
        result["c_n"] = c_n.detach().numpy().copy()

    if not backward:
        return result

    loss = (out * torch.as_tensor(np.asarray(grad_output), dtype=dtype)).sum()
    if grad_hn is not None:
        loss = loss + (h_n * torch.as_tensor(np.asarray(grad_hn), dtype=dtype)).sum()
    if grad_cn is not None and c_n is not None:
        loss = loss + (c_n * torch.as_tensor(np.asarray(grad_cn), dtype=dtype)).sum()
    loss.backward()

    def grad_of(t):
        if t.grad is None:
            return np.zeros(tuple(t.shape), dtype=t.detach().numpy().dtype)
        return t.grad.numpy().copy()

    for name, p in module.named_parameters():
        result["grad." + name] = grad_of(p)
    result["grad.input"] = grad_of(x_t)
    if h0_t is not None:
        result["grad.h0"] = grad_of(h0_t)
    if c0_t is not None:
        result["grad.c0"] = grad_of(c0_t)
    return result
