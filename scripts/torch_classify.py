#!/usr/bin/env python3
"""PyTorch mirror of `recur train classify --data fashion-mnist` for speed comparisons.

Reads Fashion-MNIST from the IDX .gz files that scripts/get-data fetches, reads each image
row by row (28 steps of 28 pixels, scaled to [0, 1]), and trains the same model as recur: a
stacked (optionally bidirectional) LSTM/GRU, mean pooling over time, an MLP head with ReLU and
dropout, softmax cross-entropy, Adam. Prints one JSON line: training tokens (rows) per second
over the steps after the first three, as bench/classify_speed.sh reads it.
Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy).
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = [int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(magic & 0xFF)]
    offset = 4 + 4 * len(dims)
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


class Classifier(torch.nn.Module):
    def __init__(self, cell, hidden, layers, bidirectional, head, dropout, classes):
        super().__init__()
        rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        self.rnn = rnn(28, hidden, num_layers=layers, bidirectional=bidirectional,
                       dropout=dropout if layers > 1 else 0.0)
        width = hidden * (2 if bidirectional else 1)
        blocks = []
        for size in head:
            blocks += [torch.nn.Dropout(dropout), torch.nn.Linear(width, size), torch.nn.ReLU()]
            width = size
        blocks += [torch.nn.Dropout(dropout), torch.nn.Linear(width, classes)]
        self.head = torch.nn.Sequential(*blocks)

    def forward(self, x):  # x: [T, B, 28]
        y, _ = self.rnn(x)
        return self.head(y.mean(dim=0))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default="data/fashion-mnist")
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--head", default="128")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    images = read_idx(f"{a.data}/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    labels = read_idx(f"{a.data}/train-labels-idx1-ubyte.gz").astype(np.int64)
    head = [int(h) for h in a.head.split(",") if h]
    model = Classifier(a.cell, a.hidden, a.layers, a.bidirectional, head, a.dropout, 10)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(a.seed)
    order = rng.permutation(len(images))
    model.train()
    start = None
    for step in range(a.steps):
        if step == 3:
            start = time.perf_counter()
        idx = order[(step * a.batch) % len(images):][:a.batch]
        x = torch.from_numpy(images[idx]).permute(1, 0, 2).contiguous()  # [28, B, 28]
        y = torch.from_numpy(labels[idx])
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    elapsed = time.perf_counter() - start
    tokens = (a.steps - 3) * a.batch * 28
    print(json.dumps({"steps": a.steps, "tokens_per_s": tokens / elapsed,
                      "final_loss": float(loss)}))


if __name__ == "__main__":
    main()
