"""Randomized acceptance check of `recur forward` against PyTorch.

For each random case (mode, layers, sizes, lengths, batch_first, projection,
bias, h0/c0, which output gradients are given) this script

  1. draws float32 weights and inputs,
  2. computes the PyTorch reference in float64 from those float32 values,
  3. runs `recur forward` on the same files in a temporary directory,
  4. compares every output and every gradient with the error metric
     |a - b| / max(1, |b|) <= 2e-5 (a = recur, b = torch).

It prints one line per failing case (its configuration and the max error of
every tensor) and a last line `N passed, M failed`. The exit code is 0 iff no
case failed.

The CLI contract it codes against:

    recur forward --weights W.safetensors --input X.npy --output Y.npy
                  [--mode lstm|gru|rnn_tanh|rnn_relu] [--batch-first]
                  [--lengths LEN.npy] [--h0 H0.npy] [--c0 C0.npy]
                  [--hn HN.npy] [--cn CN.npy]
                  [--grad-output DY.npy] [--grad-hn DHN.npy] [--grad-cn DCN.npy]
                  [--grads G.safetensors]

With --self-test the binary is not run: a float32 PyTorch run stands in for
it, which checks this script's torch side (and that the tolerance is
reachable by a float32 implementation).

Run with Debian's PyTorch:

    /usr/bin/python3 scripts/check_against_torch.py --recur build/release/recur
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rnn_reference import MODES, RnnConfig, padding_mask, parameter_shapes, run_reference  # noqa: E402
from safetensors_lite import read_safetensors, write_safetensors  # noqa: E402

TOLERANCE = 2e-5
GARBAGE = 1e3  # magnitude of the values put at padded positions


def random_case(rng):
    """A random case description (a plain dict, printed on failure)."""
    mode = str(rng.choice(MODES))
    hidden_size = int(rng.integers(1, 49))
    proj_size = 0
    if mode == "lstm" and hidden_size >= 2 and rng.random() < 0.3:
        proj_size = int(rng.integers(1, hidden_size))
    cfg = RnnConfig(
        mode=mode,
        input_size=int(rng.integers(1, 41)),
        hidden_size=hidden_size,
        num_layers=int(rng.integers(1, 4)),
        proj_size=proj_size,
        bias=bool(rng.random() < 0.8),
        batch_first=bool(rng.random() < 0.5),
        bidirectional=bool(rng.random() < 0.5),
    )
    seq_len = int(rng.integers(1, 13))
    batch = int(rng.integers(1, 7))
    lengths = None
    if rng.random() < 0.6:
        lengths = [int(v) for v in rng.integers(1, seq_len + 1, size=batch)]
    backward = bool(rng.random() < 0.85)
    return {
        "cfg": cfg,
        "seq_len": seq_len,
        "batch": batch,
        "lengths": lengths,
        "has_h0": bool(rng.random() < 0.5),
        "backward": backward,
        "grad_hn": backward and bool(rng.random() < 0.6),
        "grad_cn": backward and mode == "lstm" and bool(rng.random() < 0.6),
        # --mode is required for rnn_relu only; pass it sometimes for the
        # others to check that it is accepted.
        "pass_mode": mode == "rnn_relu" or bool(rng.random() < 0.3),
    }


def describe(case):
    cfg = case["cfg"]
    lengths = "none" if case["lengths"] is None else json.dumps(case["lengths"]).replace(" ", "")
    return (f"mode={cfg.mode} L={cfg.num_layers} I={cfg.input_size} H={cfg.hidden_size} "
            f"P={cfg.proj_size} bias={int(cfg.bias)} bi={int(cfg.bidirectional)} "
            f"bf={int(cfg.batch_first)} T={case['seq_len']} B={case['batch']} lengths={lengths} "
            f"h0={int(case['has_h0'])} backward={int(case['backward'])} "
            f"grad_hn={int(case['grad_hn'])} grad_cn={int(case['grad_cn'])}")


def make_inputs(case, rng):
    """Draw float32 weights and inputs for `case`."""
    cfg = case["cfg"]
    T, B = case["seq_len"], case["batch"]

    def f32(a):
        return np.asarray(a, dtype=np.float32)

    bound = 1.0 / np.sqrt(cfg.hidden_size)  # PyTorch's default init range
    params = {name: f32(rng.uniform(-bound, bound, size=shape))
              for name, shape in parameter_shapes(cfg)}

    pad = padding_mask(cfg, T, B, case["lengths"])
    x = f32(rng.standard_normal(cfg.input_shape(T, B)))
    x[pad] = f32(rng.uniform(-GARBAGE, GARBAGE, size=(int(pad.sum()), cfg.input_size)))

    inputs = {"params": params, "x": x, "h0": None, "c0": None,
              "grad_output": None, "grad_hn": None, "grad_cn": None}
    if case["has_h0"]:
        inputs["h0"] = f32(rng.standard_normal(cfg.h0_shape(B)))
        if cfg.mode == "lstm":
            inputs["c0"] = f32(rng.standard_normal(cfg.c0_shape(B)))
    if case["backward"]:
        out_shape = cfg.output_shape(T, B)
        gy = f32(rng.standard_normal(out_shape))
        gy[pad] = f32(rng.uniform(-GARBAGE, GARBAGE, size=(int(pad.sum()), out_shape[-1])))
        inputs["grad_output"] = gy
    if case["grad_hn"]:
        inputs["grad_hn"] = f32(rng.standard_normal(cfg.h0_shape(B)))
    if case["grad_cn"]:
        inputs["grad_cn"] = f32(rng.standard_normal(cfg.c0_shape(B)))
    return inputs


def torch_run(case, inputs, dtype):
    return run_reference(case["cfg"], inputs["params"], inputs["x"], case["lengths"],
                         inputs["h0"], inputs["c0"], inputs["grad_output"],
                         inputs["grad_hn"], inputs["grad_cn"], dtype=dtype)


class CliError(Exception):
    pass


def cli_run(recur, case, inputs, workdir, timeout):
    """Run `recur forward` in `workdir`; return results keyed like run_reference's.

    The command uses file names relative to `workdir` (its cwd), so a kept
    directory can be rerun by hand with the command in cmd.txt.
    """
    cfg = case["cfg"]

    def path(name):
        return os.path.join(workdir, name)

    write_safetensors(path("W.safetensors"), inputs["params"], {"format": "pt"})
    np.save(path("X.npy"), inputs["x"])
    cmd = [os.path.abspath(recur), "forward", "--weights", "W.safetensors", "--input", "X.npy",
           "--output", "Y.npy", "--hn", "HN.npy"]
    if cfg.mode == "lstm":
        cmd += ["--cn", "CN.npy"]
    if case["pass_mode"]:
        cmd += ["--mode", cfg.mode]
    if cfg.batch_first:
        cmd += ["--batch-first"]
    if case["lengths"] is not None:
        np.save(path("LEN.npy"), np.asarray(case["lengths"], dtype=np.int64))
        cmd += ["--lengths", "LEN.npy"]
    for key, flag, filename in (("h0", "--h0", "H0.npy"), ("c0", "--c0", "C0.npy"),
                                ("grad_output", "--grad-output", "DY.npy"),
                                ("grad_hn", "--grad-hn", "DHN.npy"),
                                ("grad_cn", "--grad-cn", "DCN.npy")):
        if inputs[key] is not None:
            np.save(path(filename), inputs[key])
            cmd += [flag, filename]
    if case["backward"]:
        cmd += ["--grads", "G.safetensors"]

    with open(path("cmd.txt"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    try:
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CliError(f"timed out after {timeout}s")
    except OSError as e:
        raise CliError(f"could not run: {e}")
    if proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip().splitlines()
        raise CliError(f"exit code {proc.returncode}: {message[-1] if message else ''}")

    results = {}
    for key, filename in (("output", "Y.npy"), ("h_n", "HN.npy"), ("c_n", "CN.npy")):
        if os.path.exists(path(filename)):
            results[key] = np.load(path(filename))
    if case["backward"] and os.path.exists(path("G.safetensors")):
        grads, _ = read_safetensors(path("G.safetensors"))
        for name, value in grads.items():
            results["grad." + name] = value
    return results


def compare(reference, got):
    """Max error per reference tensor: (errors dict, list of problems)."""
    errors = {}
    problems = []
    for key, ref in reference.items():
        if key not in got:
            problems.append(f"{key} missing")
            continue
        value = np.asarray(got[key], dtype=np.float64)
        if value.shape != ref.shape:
            problems.append(f"{key} shape {list(value.shape)} != {list(ref.shape)}")
            continue
        if ref.size == 0:
            errors[key] = 0.0
            continue
        err = np.abs(value - ref) / np.maximum(1.0, np.abs(ref))
        err = np.where(np.isnan(err), np.inf, err)
        errors[key] = float(err.max())
        if errors[key] > TOLERANCE:
            problems.append(f"{key} error {errors[key]:.3g}")
    return errors, problems


def main():
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recur", default=os.path.join(repo_root, "build", "release", "recur"),
                        help="path to the recur binary (default: %(default)s)")
    parser.add_argument("--cases", type=int, default=50, help="number of random cases (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per CLI run (default: %(default)s)")
    parser.add_argument("--keep", metavar="DIR",
                        help="copy the working directory of each failing case to DIR/case_<i> "
                             "(inputs, recur's outputs, cmd.txt, reference.safetensors)")
    parser.add_argument("--self-test", action="store_true",
                        help="compare against a float32 torch run instead of running the binary")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print passing cases")
    args = parser.parse_args()

    torch.set_num_threads(1)
    if not args.self_test and not os.access(args.recur, os.X_OK):
        print(f"error: recur binary not found or not executable: {args.recur}", file=sys.stderr)
        return 2

    passed = failed = 0
    for index in range(args.cases):
        rng = np.random.default_rng([args.seed, index])
        case = random_case(rng)
        inputs = make_inputs(case, rng)
        reference = torch_run(case, inputs, torch.float64)

        with tempfile.TemporaryDirectory(prefix="recur_check_") as workdir:
            try:
                if args.self_test:
                    got = torch_run(case, inputs, torch.float32)
                else:
                    got = cli_run(args.recur, case, inputs, workdir, args.timeout)
                errors, problems = compare(reference, got)
            except CliError as e:
                errors, problems = {}, [f"recur failed: {e}"]
            if problems and args.keep:
                # Keep the float64 reference next to the files recur saw.
                write_safetensors(os.path.join(workdir, "reference.safetensors"),
                                  {k: v.astype(np.float32) for k, v in reference.items()},
                                  {"case": describe(case)})
                kept = os.path.join(args.keep, f"case_{index}")
                shutil.rmtree(kept, ignore_errors=True)
                shutil.copytree(workdir, kept)

        errs = " ".join(f"{k}={v:.2g}" for k, v in errors.items())
        if problems:
            failed += 1
            print(f"FAIL case {index} (--seed {args.seed}) {describe(case)} | "
                  f"{'; '.join(problems)} | max errors: {errs or 'n/a'}", flush=True)
        else:
            passed += 1
            if args.verbose:
                worst = max(errors.values(), default=0.0)
                print(f"ok   case {index} {describe(case)} | worst {worst:.2g}", flush=True)

    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
