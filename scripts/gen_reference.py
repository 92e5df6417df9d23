"""Generate recur's versioned PyTorch reference fixtures for RNN/LSTM/GRU.

Writes one small safetensors file per case into tests/fixtures/rnn/ (see the
README.md there for the format). Each file holds the module parameters under
their PyTorch state_dict names, the inputs (input, h0, c0, grad_output,
grad_h_n, grad_c_n), and the PyTorch results (output, h_n, c_n and the
gradients grad.<param>, grad.input, grad.h0, grad.c0), computed in float64 from
float32-representable inputs and stored as float32.

Padded steps (t >= length) of `input` and `grad_output` hold large garbage, so
an implementation that lets padding leak into the results fails the tests.

Run with Debian's PyTorch:

    /usr/bin/python3 scripts/gen_reference.py

The output is deterministic: running it twice gives byte-identical files.
"""

import argparse
import json
import os
import sys
import zlib
from dataclasses import dataclass, field

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rnn_reference import MODES, RnnConfig, padding_mask, parameter_shapes, run_reference  # noqa: E402
from safetensors_lite import write_safetensors  # noqa: E402

FORMAT_VERSION = "1"
GARBAGE = 1e3  # magnitude of the values put at padded positions


@dataclass
class Case:
    name: str
    cfg: RnnConfig
    seq_len: int
    batch: int
    lengths: list = field(default=None)  # None: every sequence is full length
    has_h0: bool = False


def case_name(mode, layers, bidirectional, tags, batch_first):
    parts = [mode, f"l{layers}", "bi" if bidirectional else "uni"] + list(tags)
    if batch_first:
        parts.append("bf")
    return "_".join(parts)


def make_lengths(rng, seq_len, batch, order):
    """Random lengths in [1, seq_len] with max == seq_len.

    order: "sorted" (non-increasing) or "unsorted" (anything but non-increasing).
    """
    while True:
        lengths = [seq_len] + [int(v) for v in rng.integers(1, seq_len + 1, size=batch - 1)]
        if order == "sorted":
            return sorted(lengths, reverse=True)
        rng.shuffle(lengths)
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            return lengths


def build_cases():
    cases = []

    # The main grid: mode x layers x direction x sorted/unsorted lengths, with
    # batch_first and h0 presence alternating, and sizes cycling.
    k = 0
    for mode_index, mode in enumerate(MODES):
        for layers in (1, 2):
            for bidirectional in (False, True):
                for order in ("sorted", "unsorted"):
                    unsorted = order == "unsorted"
                    batch_first = (mode_index + layers + bidirectional + unsorted) % 2 == 1
                    cfg = RnnConfig(
                        mode=mode,
                        input_size=3 + k % 5,
                        hidden_size=2 + (3 * k) % 5,
                        num_layers=layers,
                        batch_first=batch_first,
                        bidirectional=bidirectional,
                    )
                    seq_len = 3 + k % 4
                    batch = 2 + k % 3
                    name = case_name(mode, layers, bidirectional, [order], batch_first)
                    rng = np.random.default_rng(zlib.crc32(name.encode()))
                    cases.append(Case(name, cfg, seq_len, batch,
                                      lengths=make_lengths(rng, seq_len, batch, order),
                                      has_h0=k % 3 != 2))
                    k += 1

    def add(mode, layers, bidirectional, tags, batch_first, input_size, hidden_size,
            seq_len, batch, lengths, has_h0, proj_size=0, bias=True):
        cfg = RnnConfig(mode=mode, input_size=input_size, hidden_size=hidden_size,
                        num_layers=layers, proj_size=proj_size, bias=bias,
                        batch_first=batch_first, bidirectional=bidirectional)
        name = case_name(mode, layers, bidirectional, tags, batch_first)
        cases.append(Case(name, cfg, seq_len, batch, lengths=lengths, has_h0=has_h0))

    # LSTM with projections.
    add("lstm", 2, False, ["proj", "unsorted"], False, 4, 5, 5, 3, [3, 5, 2], True, proj_size=3)
    add("lstm", 2, True, ["proj", "unsorted"], True, 3, 6, 4, 3, [2, 4, 1], True, proj_size=2)
    add("lstm", 1, True, ["proj", "full"], False, 5, 4, 3, 2, None, False, proj_size=3)

    # No bias, one per mode.
    add("rnn_tanh", 1, False, ["nobias", "unsorted"], False, 3, 5, 4, 3, [2, 4, 3], True, bias=False)
    add("rnn_relu", 2, True, ["nobias", "sorted"], True, 4, 3, 5, 2, [5, 3], False, bias=False)
    add("lstm", 2, False, ["nobias", "unsorted"], True, 5, 4, 4, 3, [1, 4, 2], True, bias=False)
    add("gru", 1, True, ["nobias", "unsorted"], False, 6, 5, 5, 4, [3, 5, 5, 1], False, bias=False)

    # Full-length sequences (no lengths at all), with and without h0.
    add("rnn_tanh", 1, False, ["full"], False, 7, 6, 5, 2, None, False)
    add("rnn_tanh", 2, True, ["full"], True, 3, 5, 4, 3, None, True)
    add("rnn_relu", 1, False, ["full"], True, 4, 4, 6, 2, None, True)
    add("rnn_relu", 2, True, ["full"], False, 5, 2, 3, 3, None, False)
    add("lstm", 1, False, ["full"], False, 6, 5, 4, 2, None, True)
    add("lstm", 2, True, ["full"], True, 3, 3, 5, 3, None, False)
    add("gru", 1, False, ["full"], True, 5, 6, 3, 4, None, False)
    add("gru", 2, True, ["full"], False, 4, 5, 6, 2, None, True)

    # T = 1.
    add("rnn_tanh", 1, False, ["t1"], False, 4, 3, 1, 3, None, True)
    add("lstm", 2, True, ["t1"], True, 3, 5, 1, 2, [1, 1], True)
    add("gru", 1, True, ["t1"], False, 5, 4, 1, 3, None, False)

    # B = 1, and T = 1 with B = 1.
    add("rnn_relu", 2, False, ["b1"], False, 3, 5, 4, 1, [4], True)
    add("gru", 2, True, ["b1", "full"], True, 6, 3, 5, 1, None, False)
    add("lstm", 1, True, ["b1", "short"], False, 4, 2, 5, 1, [3], True)
    add("lstm", 1, False, ["t1", "b1"], True, 7, 6, 1, 1, None, True)

    # Every length shorter than T: the output still has T steps (zeros past
    # each length) because of pad_packed_sequence(total_length=T).
    add("gru", 2, True, ["short", "unsorted"], False, 5, 5, 6, 3, [2, 4, 3], True)
    add("rnn_tanh", 1, True, ["short", "unsorted"], True, 3, 4, 5, 4, [1, 3, 2, 3], False)

    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    return cases


def make_tensors(case, seed):
    """Draw the inputs for `case` and compute the float64 PyTorch reference."""
    cfg = case.cfg
    T, B = case.seq_len, case.batch
    rng = np.random.default_rng([seed, zlib.crc32(case.name.encode())])

    def f32(a):
        return np.asarray(a, dtype=np.float32)

    params = {}
    for name, shape in parameter_shapes(cfg):
        params[name] = f32(rng.uniform(-0.5, 0.5, size=shape))

    pad = padding_mask(cfg, T, B, case.lengths)
    x = f32(rng.standard_normal(cfg.input_shape(T, B)))
    x[pad] = f32(rng.uniform(-GARBAGE, GARBAGE, size=(int(pad.sum()), cfg.input_size)))

    h0 = c0 = None
    if case.has_h0:
        h0 = f32(rng.standard_normal(cfg.h0_shape(B)))
        if cfg.mode == "lstm":
            c0 = f32(rng.standard_normal(cfg.c0_shape(B)))

    out_shape = cfg.output_shape(T, B)
    grad_output = f32(rng.standard_normal(out_shape))
    grad_output[pad] = f32(rng.uniform(-GARBAGE, GARBAGE, size=(int(pad.sum()), out_shape[-1])))
    grad_hn = f32(rng.standard_normal(cfg.h0_shape(B)))
    grad_cn = f32(rng.standard_normal(cfg.c0_shape(B))) if cfg.mode == "lstm" else None

    ref = run_reference(cfg, params, x, case.lengths, h0, c0, grad_output, grad_hn, grad_cn)

    # Sanity checks on the reference itself.
    assert np.all(ref["output"][pad] == 0), case.name
    assert np.all(ref["grad.input"][pad] == 0), case.name
    if pad.any():
        # The padding garbage must have no effect at all.
        x_clean, gy_clean = x.copy(), grad_output.copy()
        x_clean[pad] = 0
        gy_clean[pad] = 0
        clean = run_reference(cfg, params, x_clean, case.lengths, h0, c0, gy_clean, grad_hn, grad_cn)
        for key, value in ref.items():
            assert np.array_equal(value, clean[key]), (case.name, key)

    tensors = dict(params)
    tensors["input"] = x
    if h0 is not None:
        tensors["h0"] = h0
    if c0 is not None:
        tensors["c0"] = c0
    tensors["grad_output"] = grad_output
    tensors["grad_h_n"] = grad_hn
    if grad_cn is not None:
        tensors["grad_c_n"] = grad_cn
    for key, value in ref.items():
        tensors[key] = f32(value)
    return tensors


def make_metadata(case):
    cfg = case.cfg

    def flag(b):
        return "true" if b else "false"

    return {
        "format_version": FORMAT_VERSION,
        "mode": cfg.mode,
        "input_size": str(cfg.input_size),
        "hidden_size": str(cfg.hidden_size),
        "num_layers": str(cfg.num_layers),
        "proj_size": str(cfg.proj_size),
        "bias": flag(cfg.bias),
        "batch_first": flag(cfg.batch_first),
        "bidirectional": flag(cfg.bidirectional),
        "seq_len": str(case.seq_len),
        "batch": str(case.batch),
        "lengths": "" if case.lengths is None else json.dumps([int(v) for v in case.lengths]),
        "has_h0": flag(case.has_h0),
        "torch_version": torch.__version__,
    }


def main():
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default=os.path.join(repo_root, "tests", "fixtures", "rnn"),
                        help="where to write the .safetensors files (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1,
                        help="base random seed; changing it changes every fixture (default: %(default)s)")
    parser.add_argument("--list", action="store_true", help="only list the cases")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="only generate these cases")
    args = parser.parse_args()

    torch.set_num_threads(1)
    cases = build_cases()
    if args.only:
        unknown = set(args.only) - {c.name for c in cases}
        if unknown:
            parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
        cases = [c for c in cases if c.name in args.only]

    if args.list:
        for case in cases:
            print(case.name)
        return 0

    os.makedirs(args.out_dir, exist_ok=True)
    total = 0
    for case in cases:
        path = os.path.join(args.out_dir, case.name + ".safetensors")
        write_safetensors(path, make_tensors(case, args.seed), make_metadata(case))
        size = os.path.getsize(path)
        total += size
        lengths = "full" if case.lengths is None else case.lengths
        print(f"{case.name:40s} {size:7d} bytes  T={case.seq_len} B={case.batch} "
              f"I={case.cfg.input_size} H={case.cfg.hidden_size} lengths={lengths}")

    expected = {c.name + ".safetensors" for c in build_cases()}
    stale = sorted(f for f in os.listdir(args.out_dir)
                   if f.endswith(".safetensors") and f not in expected)
    if stale:
        print("warning: files not produced by this script: " + ", ".join(stale), file=sys.stderr)
    print(f"{len(cases)} cases, {total} bytes in {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
