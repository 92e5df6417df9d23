"""Generate recur's PyTorch reference fixtures for optimizers, clipping and LR schedules.

Writes small safetensors files into tests/fixtures/optim/ (read by tests/optim/):

  opt_<case>.safetensors    one optimizer configuration (torch.optim.*, one parameter group,
                            foreach=False): two parameters, their initial values, the gradient
                            of each of STEPS steps and the parameters after each step.
                              init/<name>      value before the first step
                              grad/<name>      (STEPS, *shape) gradient fed at each step
                              after/<name>     (STEPS, *shape) value after each step
                              has_grad         (STEPS, 2) 1 where the parameter had a grad,
                                               0 where its grad was None (skipped)
                            metadata: kind=optimizer, optimizer, options (JSON), names (JSON)
  clip_<case>.safetensors   torch.nn.utils.clip_grad_norm_ (norm_type 2): grad/<name> before,
                            clipped/<name> after, has_grad, total_norm (1 element);
                            metadata: kind=clip, max_norm, names
  sched_<case>.safetensors  lr sequences: lrs[k] is the lr used by optimizer step k (StepLR,
                            CosineAnnealingLR), or the lr after observing losses[0..k]
                            (ReduceLROnPlateau); metadata: kind=schedule, schedule, options

Every hyperparameter is rounded to float32 before torch sees it, so recur (which holds its
options as float) and torch start from the same numbers. Gradients come from numpy's
RandomState with a fixed seed. The output is deterministic.

Run with Debian's PyTorch:

    /usr/bin/python3 scripts/gen_optim_reference.py
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_lite import write_safetensors  # noqa: E402

FORMAT_VERSION = "1"
STEPS = 6
PARAMS = [("rnn.weight_ih_l0", (3, 4)), ("rnn.bias_ih_l0", (5,))]


def f32(x):
    """The double closest to float32(x): what recur's float options hold."""
    return float(np.float32(x))


def f32_options(options):
    return {k: (f32(v) if isinstance(v, float) else v) for k, v in options.items()}


# name -> (recur optimizer, options in recur's vocabulary, steps at which each parameter has
# no grad). The torch constructor is built from the options in make_torch_optimizer.
OPTIMIZER_CASES = {
    "sgd": ("sgd", dict(lr=0.1), None),
    "sgd_momentum": ("sgd", dict(lr=0.05, momentum=0.9), None),
    "sgd_nesterov_wd": ("sgd", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
                        None),
    "sgd_dampening": ("sgd", dict(lr=0.05, momentum=0.9, dampening=0.5), None),
    # The bias has no grad at steps 0 and 3: its momentum buffer starts at step 1.
    "sgd_momentum_skip": ("sgd", dict(lr=0.05, momentum=0.9), {1: [0, 3]}),
    "adam": ("adam", dict(lr=0.01), None),
    "adam_wd": ("adam", dict(lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1),
                None),
    "adam_amsgrad": ("adam", dict(lr=0.01, amsgrad=True), None),
    # Per-parameter step counts differ: bias correction must use the parameter's own step.
    "adam_skip": ("adam", dict(lr=0.01), {1: [0, 1, 4]}),
    "adamw": ("adamw", dict(lr=0.01, weight_decay=0.1), None),
    "adamw_amsgrad": ("adamw", dict(lr=0.01, weight_decay=0.05, amsgrad=True), None),
    "rmsprop": ("rmsprop", dict(lr=0.01), None),
    "rmsprop_centered_momentum_wd": (
        "rmsprop", dict(lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5, centered=True,
                        weight_decay=0.01), None),
    "adagrad": ("adagrad", dict(lr=0.1), None),
    "adagrad_decay_init_wd": (
        "adagrad", dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.5, weight_decay=0.05),
        None),
    "adagrad_skip": ("adagrad", dict(lr=0.1, lr_decay=0.2), {0: [2]}),
}


def make_torch_optimizer(kind, params, o):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o.get("momentum", 0.0),
                               dampening=o.get("dampening", 0.0),
                               weight_decay=o.get("weight_decay", 0.0),
                               nesterov=o.get("nesterov", False), foreach=False)
    if kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        return cls(params, lr=o["lr"], betas=(o.get("beta1", f32(0.9)), o.get("beta2", f32(0.999))),
                   eps=o.get("eps", f32(1e-8)), weight_decay=o.get("weight_decay", 0.0),
                   amsgrad=o.get("amsgrad", False), foreach=False)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=o["lr"], alpha=o.get("alpha", f32(0.99)),
                                   eps=o.get("eps", f32(1e-8)),
                                   weight_decay=o.get("weight_decay", 0.0),
                                   momentum=o.get("momentum", 0.0),
                                   centered=o.get("centered", False), foreach=False)
    if kind == "adagrad":
        return torch.optim.Adagrad(params, lr=o["lr"], lr_decay=o.get("lr_decay", 0.0),
                                   weight_decay=o.get("weight_decay", 0.0),
                                   initial_accumulator_value=o.get("initial_accumulator_value",
                                                                   0.0),
                                   eps=o.get("eps", f32(1e-10)), foreach=False)
    raise ValueError(kind)


def optimizer_case(index, name, kind, options, skips):
    rng = np.random.RandomState(1000 + index)
    options = f32_options(options)
    tensors = {}
    values = []
    for pname, shape in PARAMS:
        init = rng.standard_normal(shape).astype(np.float32)
        tensors[f"init/{pname}"] = init
        values.append(torch.nn.Parameter(torch.from_numpy(init.copy())))
    # Gradients of mixed scale so that the adaptive optimizers' denominators matter.
    grads = [(rng.standard_normal((STEPS,) + shape) *
              rng.choice([0.01, 0.3, 2.0], size=(STEPS,) + shape)).astype(np.float32)
             for _, shape in PARAMS]
    has_grad = np.ones((STEPS, len(PARAMS)), dtype=np.float32)
    for p, steps in (skips or {}).items():
        has_grad[steps, p] = 0
    opt = make_torch_optimizer(kind, values, options)
    after = [np.zeros((STEPS,) + shape, dtype=np.float32) for _, shape in PARAMS]
    for s in range(STEPS):
        for p, value in enumerate(values):
            value.grad = torch.from_numpy(grads[p][s].copy()) if has_grad[s, p] else None
        opt.step()
        for p, value in enumerate(values):
            after[p][s] = value.detach().numpy()
    for p, (pname, _) in enumerate(PARAMS):
        tensors[f"grad/{pname}"] = grads[p]
        tensors[f"after/{pname}"] = after[p]
    tensors["has_grad"] = has_grad
    metadata = {
        "format_version": FORMAT_VERSION,
        "kind": "optimizer",
        "optimizer": kind,
        "options": json.dumps(options, sort_keys=True),
        "names": json.dumps([n for n, _ in PARAMS]),
        "torch_version": torch.__version__,
    }
    return f"opt_{name}", tensors, metadata


CLIP_SHAPES = [("w", (3, 4)), ("b", (5,)), ("h", (2, 2))]
CLIP_CASES = {
    "clipped": (1.0, [1, 1, 1]),
    "not_clipped": (100.0, [1, 1, 1]),
    "clipped_one_without_grad": (0.5, [1, 0, 1]),
}


def clip_case(index, name, max_norm, has):
    rng = np.random.RandomState(2000 + index)
    max_norm = f32(max_norm)
    tensors = {}
    params = []
    for (pname, shape), h in zip(CLIP_SHAPES, has):
        p = torch.nn.Parameter(torch.zeros(shape))
        if h:
            g = (rng.standard_normal(shape) * 1.5).astype(np.float32)
            tensors[f"grad/{pname}"] = g
            p.grad = torch.from_numpy(g.copy())
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=2.0)
    for (pname, _), p in zip(CLIP_SHAPES, params):
        if p.grad is not None:
            tensors[f"clipped/{pname}"] = p.grad.numpy()
    tensors["has_grad"] = np.array(has, dtype=np.float32)
    tensors["total_norm"] = np.array([float(total)], dtype=np.float32)
    metadata = {
        "format_version": FORMAT_VERSION,
        "kind": "clip",
        "max_norm": repr(max_norm),
        "names": json.dumps([n for n, _ in CLIP_SHAPES]),
        "torch_version": torch.__version__,
    }
    return f"clip_{name}", tensors, metadata


def lr_sequence(make_scheduler, lr, n):
    """The lr used by each of n optimizer steps, the scheduler stepped after each."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs, dtype=np.float32)


def schedule_cases():
    cases = []

    def meta(schedule, options):
        return {
            "format_version": FORMAT_VERSION,
            "kind": "schedule",
            "schedule": schedule,
            "options": json.dumps(f32_options(options), sort_keys=True),
            "torch_version": torch.__version__,
        }

    for name, lr, step_size, gamma, n in [("step_lr", 0.1, 3, 0.5, 20),
                                          ("step_lr_gamma_0_1", 0.05, 4, 0.1, 17)]:
        lr, gamma = f32(lr), f32(gamma)
        lrs = lr_sequence(
            lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=step_size, gamma=gamma), lr, n)
        cases.append((f"sched_{name}", {"lrs": lrs},
                      meta("step", dict(lr=lr, step_size=step_size, gamma=gamma))))

    # recur's cosine schedule with warmup 0 is CosineAnnealingLR over steps 0..total.
    for name, lr, total, min_lr in [("cosine", 0.1, 10, 0.0), ("cosine_min_lr", 0.2, 13, 0.01)]:
        lr, min_lr = f32(lr), f32(min_lr)
        lrs = lr_sequence(
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total, eta_min=min_lr),
            lr, total + 1)
        cases.append((f"sched_{name}", {"lrs": lrs},
                      meta("cosine", dict(lr=lr, warmup=0, total_steps=total, min_lr=min_lr))))

    plateau = [
        # Improves, plateaus (patience 2 runs out twice), improves, then hits min_lr.
        ("plateau", dict(lr=0.1, factor=0.5, patience=2, threshold=1e-2, min_lr=0.02),
         [1.0, 0.9, 0.895, 0.899, 0.93, 0.91, 0.5, 0.5, 0.5, 0.5, 0.49, 0.498, 0.4, 0.41,
          0.42, 0.43, 0.44, 0.45, 0.46, 0.47, 0.48, 0.49, 0.5]),
        # Defaults except patience 0: every non-improvement reduces.
        ("plateau_patience_0", dict(lr=0.05, factor=0.1, patience=0, threshold=1e-4, min_lr=0.0),
         [2.0, 1.0, 1.0, 0.99995, 0.5, 0.6, 0.4, float("nan"), 0.3]),
        # A tiny lr: reductions stop once they would change it by no more than eps = 1e-8.
        ("plateau_eps", dict(lr=1e-7, factor=0.5, patience=0, threshold=1e-4, min_lr=0.0),
         [1.0] * 8),
    ]
    for name, o, losses in plateau:
        o = f32_options(o)
        losses = np.array(losses, dtype=np.float32)
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=o["lr"])
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=o["factor"], patience=o["patience"],
            threshold=o["threshold"], threshold_mode="rel", cooldown=0, min_lr=o["min_lr"])
        lrs = []
        for loss in losses:
            sched.step(float(loss))
            lrs.append(opt.param_groups[0]["lr"])
        cases.append((f"sched_{name}",
                      {"losses": losses, "lrs": np.array(lrs, dtype=np.float32)},
                      meta("plateau", o)))
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--out", default=os.path.join(root, "tests", "fixtures", "optim"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)

    cases = []
    for i, (name, (kind, options, skips)) in enumerate(OPTIMIZER_CASES.items()):
        cases.append(optimizer_case(i, name, kind, options, skips))
    for i, (name, (max_norm, has)) in enumerate(CLIP_CASES.items()):
        cases.append(clip_case(i, name, max_norm, has))
    cases.extend(schedule_cases())
    for fname, tensors, metadata in cases:
        write_safetensors(os.path.join(args.out, fname + ".safetensors"), tensors, metadata)
    print(f"wrote {len(cases)} fixtures to {args.out}")


if __name__ == "__main__":
    main()
