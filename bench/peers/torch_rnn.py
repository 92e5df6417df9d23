#!/usr/bin/python3
"""PyTorch peer of the benchmark harness (bench/harness, `recur_bench`).

Runs torch.nn.RNN/LSTM/GRU on the problem the harness wrote to --weights (a safetensors file:
the layer's state_dict under PyTorch's names, plus `input` [T, B, I] and `grad_output`
[T, B, D*H]), so that PyTorch sees exactly the numbers recur and oneDNN see.

  --validate OUT   writes what each mode computes to OUT (safetensors) and times nothing:
                   inference `output`; training `train.output`, `train.input` (d input) and
                   `train.<name>` (d parameter); stream `stream.output` [T, B, H].
  --memory         measures the peak memory of --memory-steps training steps at the first
                   --threads setting and prints one JSON line (bytes): VmRSS and RssFile before
                   the first step (weights, input and dy loaded, malloc_trim(0) first), then
                   per step VmHWM during it (reset by writing 5 to /proc/self/clear_refs),
                   VmRSS and RssFile after it. The harness runs it in a fresh process per
                   problem, as it runs recur's probe (bench/harness/memory.h).
  (default)        times each mode at each --threads setting and prints one JSON line per
                   (mode, threads): median/min/max seconds of a run over --repeats after --warmup.

Modes: inference (eval, torch.no_grad, the whole sequence), training (forward, then backward of
grad_output: parameter and input gradients; the gradients are reset to None first, like
zero_grad(set_to_none=True)), stream (T calls on one step each, (h, c) passed back in).
Run it with Debian's /usr/bin/python3 (python3-torch); `scripts/setup --torch` installs it.
"""

import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from safetensors_lite import read_safetensors, write_safetensors  # noqa: E402


def parse_descriptor(text):
    tokens = text.split("_")
    stream = tokens[-1] == "stream"
    if stream:
        tokens = tokens[:-1]
    fields = {t[0]: int(t[1:]) for t in tokens[-6:]}
    mode = "_".join(tokens[:-6])
    return mode, fields, stream


def build(mode, f):
    kwargs = dict(num_layers=f["l"], bidirectional=f["d"] == 2)
    if mode in ("rnn_tanh", "rnn_relu"):
        return torch.nn.RNN(f["i"], f["h"], nonlinearity=mode[4:], **kwargs)
    if mode == "lstm":
        return torch.nn.LSTM(f["i"], f["h"], **kwargs)
    if mode == "gru":
        return torch.nn.GRU(f["i"], f["h"], **kwargs)
    raise SystemExit(f"torch_rnn.py: unknown mode {mode!r}")


class Problem:
    def __init__(self, descriptor, weights):
        self.mode, f, self.stream = parse_descriptor(descriptor)
        tensors, _ = read_safetensors(weights)
        self.rnn = build(self.mode, f)
        state = {k: torch.from_numpy(v) for k, v in tensors.items() if k not in ("input", "grad_output")}
        self.rnn.load_state_dict(state, strict=True)
        self.x = torch.from_numpy(tensors["input"])
        self.dy = torch.from_numpy(tensors["grad_output"])
        self.x_train = self.x.clone().requires_grad_(True)
        self.steps = [self.x[t:t + 1] for t in range(self.x.shape[0])]
        self.L, self.B, self.H = f["l"], f["b"], f["h"]

    def inference(self):
        self.rnn.eval()
        with torch.no_grad():
            return self.rnn(self.x)[0]

    def training(self):
        self.rnn.train()
        for p in self.rnn.parameters():
            p.grad = None
        self.x_train.grad = None
        y = self.rnn(self.x_train)[0]
        y.backward(self.dy)
        return y

    def stream_run(self):
        self.rnn.eval()
        outs = []
        with torch.no_grad():
            h = torch.zeros(self.L, self.B, self.H)
            state = (h, torch.zeros_like(h)) if self.mode == "lstm" else h
            for x in self.steps:
                y, state = self.rnn(x, state)
                outs.append(y)
        return torch.cat(outs)


def median_run(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def proc_memory():
    """VmRSS, VmHWM and RssFile (file-backed resident pages: code) of this process, in bytes."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:", "RssFile:")):
                name, value = line.split(":")
                fields[name] = int(value.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"], fields["RssFile"]


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def memory_probe(p, threads, steps):
    """Training steps, measured as recur's probe measures them (bench/harness/memory.h)."""
    torch.set_num_threads(threads)
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    baseline, _, baseline_file = proc_memory()
    measured = []
    for _ in range(steps):
        reset_peak()
        p.training()
        rss, hwm, rss_file = proc_memory()
        measured.append({"hwm": hwm, "rss": rss, "rss_file": rss_file})
    print(json.dumps({"peer": "pytorch", "threads": threads, "baseline_rss": baseline,
                      "baseline_rss_file": baseline_file, "steps": measured,
                      "torch": torch.__version__}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problem", required=True, help="descriptor, e.g. lstm_t64_b32_i512_h512_l1_d1")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--modes", default="inference,training")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--validate", metavar="OUT")
    ap.add_argument("--memory", action="store_true", help="peak memory of training steps")
    ap.add_argument("--memory-steps", type=int, default=4)
    a = ap.parse_args()
    torch.manual_seed(0)
    p = Problem(a.problem, a.weights)
    modes = ["stream"] if p.stream else [m for m in a.modes.split(",") if m]
    run = {"inference": p.inference, "training": p.training, "stream": p.stream_run}

    if a.memory:
        memory_probe(p, int(a.threads.split(",")[0]), a.memory_steps)
        return

    if a.validate:
        torch.set_num_threads(1)
        out = {}
        for mode in modes:
            y = run[mode]()
            if mode == "inference":
                out["output"] = y.detach().numpy()
            elif mode == "stream":
                out["stream.output"] = y.detach().numpy()
            else:
                out["train.output"] = y.detach().numpy()
                out["train.input"] = p.x_train.grad.numpy()
                for name, param in p.rnn.named_parameters():
                    out["train." + name] = param.grad.numpy()
        write_safetensors(a.validate, out, {"torch": torch.__version__})
        return

    for threads in [int(t) for t in a.threads.split(",") if t]:
        torch.set_num_threads(threads)
        for mode in modes:
            s = median_run(run[mode], a.warmup, a.repeats)
            print(json.dumps({"peer": "pytorch", "problem": a.problem, "mode": mode,
                              "threads": threads, "median_s": statistics.median(s),
                              "min_s": min(s), "max_s": max(s), "runs": len(s),
                              "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
