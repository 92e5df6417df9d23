#!/usr/bin/python3
"""PyTorch reference language-model trainer that `recur train` mirrors.

Reads a folder written by `recur data lm --out DIR`:
    train.npy, valid.npy, test.npy  int64 1-D token-id streams (each document's
                                    characters followed by "\\n")
    vocab.json                      JSON array of tokens in id order (0 <pad>, 1 <unk>)

and trains exactly this (every choice below is part of the contract):

  Model   Embedding(V, E) -> Dropout(p) -> nn.LSTM|GRU|RNN(E, H, num_layers=L,
          dropout=p), sequence-first -> Dropout(p) -> Linear(H, V). --tie makes
          the output weight the embedding weight (needs E == H). PyTorch's
          default initialisation, after torch.manual_seed(--seed).
  Batches As PyTorch's word_language_model example: n ids are trimmed to
          (n // B) * B, reshaped to [B, n // B] and transposed to [rows, B].
          Chunk i = 0, bptt, 2 bptt, ... while i < rows - 1: seq =
          min(bptt, rows - 1 - i), input = data[i:i+seq], target =
          data[i+1:i+1+seq]. One optimizer step per chunk; the hidden state is
          carried (detached) from chunk to chunk and reset to zeros at the start
          of every pass; when the chunks run out the next pass starts.
  Loss    Mean cross-entropy over the chunk's seq * B tokens; gradients clipped
          to global norm --clip (0 = off) before the optimizer step.
  Eval    Every --eval-every steps and after the last: the valid stream (and at
          the end the test stream) batchified with batch 16, chunks of bptt,
          hidden carried, dropout off (eval mode). loss = total CE / number of
          predicted tokens; bpc = loss / ln 2; perplexity = exp(loss).
  Timing  tokens/s = training tokens / wall time of the training steps only:
          evaluation and the first 3 (warm-up) steps are left out.

Output: with --log FILE.jsonl, the schema of src/cli/jsonl_log.h:
    {"step", "train_loss", "lr", "tokens_per_s", "time_s"} every --log-every
    steps and at the last step, where train_loss is the mean chunk loss and
    tokens_per_s the throughput of the steps since the previous training line,
    time_s the wall time since training started (evaluation included);
    {"step", "valid_loss", "valid_bpc"} after each evaluation.
    Non-finite numbers are written as null.
At the end ONE JSON line on stdout:
    {"framework": "pytorch", "steps", "train_tokens", "tokens_per_s",
     "valid_loss", "valid_bpc", "test_loss", "test_bpc", "threads", "config"}
Progress (one line per log line) goes to stderr.

Leaves out: GPUs, learning-rate schedules, mixed precision, sampling text.

Run: /usr/bin/python3 scripts/torch_lm.py --data DIR --steps 1000 --log run.jsonl
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

EVAL_BATCH = 16
WARMUP_STEPS = 3


class LanguageModel(nn.Module):
    def __init__(self, cell, vocab_size, embed, hidden, layers, dropout, tie):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed)
        self.drop = nn.Dropout(dropout)
        rnn_class = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn_class(embed, hidden, num_layers=layers, dropout=dropout)
        self.decoder = nn.Linear(hidden, vocab_size)
        if tie:
            self.decoder.weight = self.embedding.weight
        self.cell, self.layers, self.hidden = cell, layers, hidden

    def initial_state(self, batch):
        zeros = torch.zeros(self.layers, batch, self.hidden)
        return (zeros, zeros.clone()) if self.cell == "lstm" else zeros

    def forward(self, tokens, state):  # tokens (T, B) -> logits (T, B, V)
        output, state = self.rnn(self.drop(self.embedding(tokens)), state)
        return self.decoder(self.drop(output)), state


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def batchify(stream, batch):
    """[n] -> [n // batch, batch]: column b is the b-th contiguous slice of the stream."""
    rows = len(stream) // batch
    return stream[: rows * batch].view(batch, rows).t().contiguous()


def chunks(data, bptt):
    """(input, target) pairs covering rows 0..rows-1 of a batchified stream."""
    rows = data.size(0)
    for i in range(0, rows - 1, bptt):
        seq = min(bptt, rows - 1 - i)
        yield data[i : i + seq], data[i + 1 : i + 1 + seq]


def load_stream(path, vocab_size):
    array = np.load(path)
    if array.ndim != 1 or array.dtype != np.int64:
        sys.exit(f"{path}: expected a 1-D int64 array, found shape {array.shape} {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= vocab_size):
        sys.exit(f"{path}: token ids must be in [0, {vocab_size}), found "
                 f"[{array.min()}, {array.max()}]")
    return torch.from_numpy(array)


def check_rows(name, data, batch):
    if data.size(0) < 2:
        sys.exit(f"{name}: too short for batch {batch}: needs at least {2 * batch} tokens")


def make_optimizer(name, params, lr, weight_decay):
    kinds = {
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
        "sgd": torch.optim.SGD,
        "rmsprop": torch.optim.RMSprop,
        "adagrad": torch.optim.Adagrad,
    }
    return kinds[name](params, lr=lr, weight_decay=weight_decay)


@torch.no_grad()
def evaluate(model, data, bptt):
    """Total cross-entropy over every predicted token / their count (nats per token)."""
    was_training = model.training
    model.eval()
    state = model.initial_state(data.size(1))
    total, count = 0.0, 0
    for inputs, targets in chunks(data, bptt):
        logits, state = model(inputs, state)
        total += nn.functional.cross_entropy(
            logits.view(-1, logits.size(-1)), targets.reshape(-1), reduction="sum").item()
        count += targets.numel()
    model.train(was_training)
    return total / count


def finite_or_none(x):
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


def clean(obj):
    """Non-finite floats -> null, so every line stays valid JSON."""
    return {k: finite_or_none(v) if isinstance(v, float) else v for k, v in obj.items()}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="folder with train/valid/test.npy, vocab.json")
    p.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    p.add_argument("--embed", type=int, default=128)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--tie", action="store_true", help="tie decoder weight to the embedding")
    p.add_argument("--bptt", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--optimizer", choices=["adam", "adamw", "sgd", "rmsprop", "adagrad"],
                   default="adam")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--clip", type=float, default=1.0, help="max global grad norm; 0 = off")
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps (one per chunk)")
    p.add_argument("--eval-every", type=int, default=0, help="evaluate every K steps; 0 = end only")
    p.add_argument("--no-eval", action="store_true", help="no evaluation at all (speed runs)")
    p.add_argument("--save-init", help="write the initial weights here (safetensors), so that "
                   "`recur train lm --init` can start from the same point")
    p.add_argument("--log", help="JSONL training log")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    for name in ("embed", "hidden", "layers", "bptt", "batch", "steps", "log_every", "threads"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, found {getattr(a, name)}")
    if a.eval_every < 0 or a.clip < 0 or not 0 <= a.dropout < 1:
        p.error("--eval-every and --clip must be >= 0, --dropout in [0, 1)")
    if a.tie and a.embed != a.hidden:
        p.error(f"--tie needs --embed == --hidden, found {a.embed} and {a.hidden}")
    return a


def main(argv):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    with open(os.path.join(a.data, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    if not isinstance(vocab, list) or vocab[:2] != ["<pad>", "<unk>"]:
        sys.exit(f"{a.data}/vocab.json: expected a JSON array starting with <pad>, <unk>")
    V = len(vocab)
    train = batchify(load_stream(os.path.join(a.data, "train.npy"), V), a.batch)
    valid = batchify(load_stream(os.path.join(a.data, "valid.npy"), V), EVAL_BATCH)
    test = batchify(load_stream(os.path.join(a.data, "test.npy"), V), EVAL_BATCH)
    check_rows("train.npy", train, a.batch)
    check_rows("valid.npy", valid, EVAL_BATCH)
    check_rows("test.npy", test, EVAL_BATCH)

    model = LanguageModel(a.cell, V, a.embed, a.hidden, a.layers, a.dropout, a.tie)
    if a.save_init:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from safetensors_lite import write_safetensors
        write_safetensors(a.save_init, {k: v.detach().numpy().copy()
                                        for k, v in model.state_dict().items()}, {})
    optimizer = make_optimizer(a.optimizer, model.parameters(), a.lr, a.weight_decay)
    log = open(a.log, "w", encoding="utf-8") if a.log else None

    def write_log(obj):
        if log:
            log.write(json.dumps(clean(obj), allow_nan=False) + "\n")
            log.flush()

    def run_eval(step):
        loss = evaluate(model, valid, a.bptt)
        write_log({"step": step, "valid_loss": loss, "valid_bpc": loss / math.log(2)})
        print(f"step {step}: valid loss {loss:.4f} bpc {loss / math.log(2):.4f}", file=sys.stderr)
        return loss

    model.train()
    start = time.perf_counter()
    step, train_tokens = 0, 0
    timed_tokens, timed_s = 0, 0.0       # steps after the warm-up
    window_loss, window_steps, window_tokens, window_s = 0.0, 0, 0, 0.0  # since the last log line
    valid_loss = None
    while step < a.steps:
        state = model.initial_state(a.batch)  # a new pass over the data
        for inputs, targets in chunks(train, a.bptt):
            if step == a.steps:
                break
            t0 = time.perf_counter()
            state = detach(state)
            logits, state = model(inputs, state)
            loss = nn.functional.cross_entropy(logits.view(-1, V), targets.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            if a.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            optimizer.step()
            loss_value = loss.item()
            elapsed = time.perf_counter() - t0
            step += 1
            tokens = targets.numel()
            train_tokens += tokens
            if step > WARMUP_STEPS:
                timed_tokens += tokens
                timed_s += elapsed
            window_loss += loss_value
            window_steps += 1
            window_tokens += tokens
            window_s += elapsed
            if step % a.log_every == 0 or step == a.steps:
                rate = window_tokens / window_s if window_s > 0 else float("nan")
                write_log({"step": step, "train_loss": window_loss / window_steps,
                           "lr": optimizer.param_groups[0]["lr"], "tokens_per_s": rate,
                           "time_s": time.perf_counter() - start})
                print(f"step {step}/{a.steps}: loss {window_loss / window_steps:.4f}, "
                      f"{rate:.0f} tok/s", file=sys.stderr)
                window_loss, window_steps, window_tokens, window_s = 0.0, 0, 0, 0.0
            if a.eval_every and step % a.eval_every == 0 and not a.no_eval:
                valid_loss = run_eval(step)
                valid_step = step
    test_loss = None
    if not a.no_eval:
        if valid_loss is None or valid_step != step:
            valid_loss = run_eval(step)
        test_loss = evaluate(model, test, a.bptt)
    if log:
        log.close()

    result = {
        "framework": "pytorch",
        "steps": step,
        "train_tokens": train_tokens,
        "tokens_per_s": timed_tokens / timed_s if timed_s > 0 else None,
        "valid_loss": valid_loss,
        "valid_bpc": valid_loss / math.log(2) if valid_loss is not None else None,
        "test_loss": test_loss,
        "test_bpc": test_loss / math.log(2) if test_loss is not None else None,
        "threads": a.threads,
        "config": {k: v for k, v in vars(a).items() if k not in ("log",)},
    }
    result["config"]["vocab_size"] = V
    print(json.dumps(clean(result), allow_nan=False))


if __name__ == "__main__":
    main(sys.argv[1:])
