#!/usr/bin/env python3
"""Reference training trajectories for recur's language model, from PyTorch.

Run with Debian's interpreter (it has torch 1.13): /usr/bin/python3 scripts/gen_lm_reference.py

For each case: a tiny Embedding -> LSTM/GRU -> Linear language model with random initial
weights, a random token stream, and 20 optimizer steps of truncated BPTT exactly as recur
trains (PyTorch word_language_model batching, hidden state carried and detached between
chunks, mean cross-entropy, clip_grad_norm_, optimizer step). Dropout is 0 so that the run is
deterministic. Writes tests/fixtures/lm/<case>.safetensors with the initial weights (PyTorch
names), the stream and the loss of every step (all F32; ids are small integers, exact in F32).
"""

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_lite import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "lm")

CASES = [
    # name, cell, vocab, embed, hidden, layers, batch, bptt, optimizer, lr, clip, tie, steps
    ("lstm_adam", "lstm", 11, 6, 8, 2, 3, 5, "adam", 1e-2, 1.0, False, 20),
    ("gru_sgd_momentum", "gru", 9, 5, 7, 1, 2, 4, "sgd", 0.5, 0.5, False, 20),
    ("lstm_tied_adamw", "lstm", 10, 8, 8, 1, 4, 6, "adamw", 5e-3, 0.0, True, 20),
]


class Model(torch.nn.Module):
    def __init__(self, cell, vocab, embed, hidden, layers, tie):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, embed)
        rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        self.rnn = rnn(embed, hidden, num_layers=layers)
        self.decoder = torch.nn.Linear(hidden, vocab)
        if tie:
            self.decoder.weight = self.embedding.weight

    def forward(self, x, state):
        y, state = self.rnn(self.embedding(x), state)
        return self.decoder(y), state


def detach(state):
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def run(case, seed):
    name, cell, vocab, embed, hidden, layers, batch, bptt, opt, lr, clip, tie, steps = case
    torch.manual_seed(seed)
    model = Model(cell, vocab, embed, hidden, layers, tie)
    initial = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    if tie:
        del initial["decoder.weight"]  # recur keeps one tensor, the embedding's
    rng = np.random.default_rng(seed)
    stream = rng.integers(2, vocab, size=batch * (bptt * 3 + 2) + 1)
    n = len(stream) // batch
    data = torch.tensor(stream[: n * batch].reshape(batch, n).T.copy())
    if opt == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    elif opt == "adamw":
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    zeros = torch.zeros(layers, batch, hidden)
    state = (zeros, zeros.clone()) if cell == "lstm" else zeros
    losses = []
    i = 0
    for _ in range(steps):
        if i >= n - 1:
            i = 0
            state = (zeros, zeros.clone()) if cell == "lstm" else zeros
        seq = min(bptt, n - 1 - i)
        x, y = data[i : i + seq], data[i + 1 : i + 1 + seq]
        optimizer.zero_grad()
        logits, state = model(x, detach(state))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        losses.append(loss.item())
        i += seq
    tensors = {k: v.astype(np.float32) for k, v in initial.items()}
    tensors["stream"] = stream.astype(np.float32)
    tensors["losses"] = np.array(losses, dtype=np.float32)
    metadata = {
        "cell": cell, "vocab": str(vocab), "embed": str(embed), "hidden": str(hidden),
        "layers": str(layers), "batch": str(batch), "bptt": str(bptt), "optimizer": opt,
        "lr": repr(lr), "clip": repr(clip), "tie": "1" if tie else "0", "steps": str(steps),
        "generator": "scripts/gen_lm_reference.py", "torch": torch.__version__,
    }
    write_safetensors(os.path.join(OUT, name + ".safetensors"), tensors, metadata)
    print(f"{name}: losses {losses[0]:.4f} -> {losses[-1]:.4f}")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for k, case in enumerate(CASES):
        run(case, 100 + k)


if __name__ == "__main__":
    main()
