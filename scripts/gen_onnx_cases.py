#!/usr/bin/python3
"""Generates recur's ONNX reference cases in tests/onnx/cases/.

Every case is a folder in the ONNX backend node-test format:

    <case>/model.onnx
    <case>/test_data_set_0/input_K.pb    serialized onnx.TensorProto, K in graph-input order
    <case>/test_data_set_0/output_K.pb   K in graph-output order

Two kinds of cases:

* ``lstm_*``, ``gru_*``, ``rnn_*``: one LSTM / GRU / RNN node built with onnx.helper,
  random weights, covering every attribute and optional input of the three operators.
  Expected outputs come from the numpy reference implementation in this file
  (``lstm_reference``, ``gru_reference``, ``rnn_reference``), written from the ONNX
  operator specification; where the spec leaves details open it follows ONNX Runtime
  (see ``resolve_activations`` and the reference functions' docstrings).
* ``torch_*``: random-weight PyTorch modules exported with torch.onnx.export (opset 14).
  Expected outputs come from PyTorch. Each exported graph is also evaluated by the small
  numpy graph evaluator below (``evaluate_graph``, which runs the RNN nodes with the numpy
  reference), and the script fails if that disagrees with PyTorch.

``--check-official DIR`` runs the numpy reference on ONNX's own LSTM/GRU/RNN node tests
(Debian's libonnx-testdata) as a sanity check of the reference.

Everything is deterministic: each case seeds its own generator from its name.

Usage (Debian's python3 with python3-torch, python3-numpy, python3-onnx):

    /usr/bin/python3 scripts/gen_onnx_cases.py                 # (re)writes tests/onnx/cases/
    /usr/bin/python3 scripts/gen_onnx_cases.py --check-official \\
        /usr/share/libonnx-testdata/data/node
"""

import argparse
import io
import os
import shutil
import sys
import warnings
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 14
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tests", "onnx", "cases")

# --------------------------------------------------------------------------------------
# Activation functions
# --------------------------------------------------------------------------------------

# Which of (alpha, beta) each activation takes.
ACTIVATION_PARAMS = {
    "relu": (False, False),
    "tanh": (False, False),
    "sigmoid": (False, False),
    "affine": (True, True),
    "leakyrelu": (True, False),
    "thresholdedrelu": (True, False),
    "scaledtanh": (True, True),
    "hardsigmoid": (True, True),
    "elu": (True, False),
    "softsign": (False, False),
    "softplus": (False, False),
}

# Defaults used when activation_alpha / activation_beta run out. Only these three have a
# default that the ONNX operators of the same name define and ONNX Runtime agrees with;
# for Affine, ThresholdedRelu and ScaledTanh ONNX Runtime silently uses 0, so the reference
# refuses to guess and the generated cases always give those values explicitly.
ACTIVATION_DEFAULTS = {
    "leakyrelu": (0.01, None),
    "hardsigmoid": (0.2, 0.5),
    "elu": (1.0, None),
}


def activation(name, x, alpha=None, beta=None):
    """Applies the ONNX RNN activation ``name`` (case-insensitive) elementwise to x."""
    n = name.lower()
    if n == "relu":
        return np.maximum(x, 0.0)
    if n == "tanh":
        return np.tanh(x)
    if n == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if n == "affine":
        return alpha * x + beta
    if n == "leakyrelu":
        return np.where(x >= 0, x, alpha * x)
    if n == "thresholdedrelu":
        return np.where(x >= alpha, x, 0.0)
    if n == "scaledtanh":
        return alpha * np.tanh(beta * x)
    if n == "hardsigmoid":
        return np.clip(alpha * x + beta, 0.0, 1.0)
    if n == "elu":
        return np.where(x >= 0, x, alpha * (np.exp(x) - 1.0))
    if n == "softsign":
        return x / (1.0 + np.abs(x))
    if n == "softplus":
        return np.logaddexp(0.0, x)
    raise ValueError(f"unknown activation {name!r}")


def resolve_activations(names, alphas, betas):
    """Pairs each activation with its (alpha, beta).

    The spec says only that the values "are consumed in the order of activation
    functions". Like ONNX Runtime, an activation consumes the next activation_alpha value
    only if it takes an alpha (Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid,
    Elu), and the next activation_beta value only if it takes a beta (Affine, ScaledTanh,
    HardSigmoid); when a list runs out, the operator default applies.
    """
    alphas = list(alphas or [])
    betas = list(betas or [])
    resolved = []
    for name in names:
        n = name.lower()
        if n not in ACTIVATION_PARAMS:
            raise ValueError(f"unknown activation {name!r}")
        takes_alpha, takes_beta = ACTIVATION_PARAMS[n]
        default_alpha, default_beta = ACTIVATION_DEFAULTS.get(n, (None, None))
        alpha = beta = None
        if takes_alpha:
            alpha = alphas.pop(0) if alphas else default_alpha
            if alpha is None:
                raise ValueError(f"{name} needs an activation_alpha value (no agreed default)")
        if takes_beta:
            beta = betas.pop(0) if betas else default_beta
            if beta is None:
                raise ValueError(f"{name} needs an activation_beta value (no agreed default)")
        resolved.append((n, alpha, beta))
    return resolved


def alpha_beta_lists_are_unambiguous(names):
    """True when consuming alpha/beta per activation that takes them (ONNX Runtime) and
    indexing them by activation position would pair the same values: every activation
    taking a beta comes before every one that takes none, and likewise for alpha."""
    for k in (0, 1):
        takes = [ACTIVATION_PARAMS[n.lower()][k] for n in names]
        if any(takes[i + 1] and not takes[i] for i in range(len(takes) - 1)):
            return False
    return True


# --------------------------------------------------------------------------------------
# numpy reference of the ONNX LSTM / GRU / RNN operators (opset 14)
# --------------------------------------------------------------------------------------


def _num_directions(direction):
    if direction not in ("forward", "reverse", "bidirectional"):
        raise ValueError(f"bad direction {direction!r}")
    return 2 if direction == "bidirectional" else 1


def _is_reverse(direction, d):
    return direction == "reverse" or (direction == "bidirectional" and d == 1)


def _clip(x, clip):
    return x if clip is None else np.clip(x, -clip, clip)


def _to_seq_major(layout, X, states):
    """layout=1 -> layout=0: X [N,T,I] -> [T,N,I]; states [N,D,H] -> [D,N,H]."""
    if layout == 0:
        return X, states
    return X.transpose(1, 0, 2), [None if s is None else s.transpose(1, 0, 2) for s in states]


def _from_seq_major(layout, Y, states):
    """layout=0 -> layout=1: Y [T,D,N,H] -> [N,T,D,H]; states [D,N,H] -> [N,D,H]."""
    if layout == 0:
        return (Y, *states)
    return (Y.transpose(2, 0, 1, 3), *[s.transpose(1, 0, 2) for s in states])


def _run_recurrence(X, sequence_lens, direction, initial_states, cell):
    """Runs ``cell(d, x_t, states) -> states`` (states[0] = hidden) over the sequence.

    Per batch element b with length L = sequence_lens[b]: the forward direction visits
    t = 0..L-1, the reverse one t = L-1..0. Y[t, d, b] is the hidden state after step t,
    and zero for t >= L. The final states are those after the last step visited, i.e. for
    the reverse direction the state after t = 0.
    """
    T, N, _ = X.shape
    D = initial_states[0].shape[0]
    H = initial_states[0].shape[2]
    lens = np.full(N, T, dtype=np.int64) if sequence_lens is None else sequence_lens.astype(np.int64)
    Y = np.zeros((T, D, N, H))
    finals = [np.zeros_like(s) for s in initial_states]
    for d in range(D):
        for b in range(N):
            states = [s[d, b] for s in initial_states]
            L = int(lens[b])
            steps = range(L - 1, -1, -1) if _is_reverse(direction, d) else range(L)
            for t in steps:
                states = cell(d, X[t, b], states)
                Y[t, d, b] = states[0]
            for k, s in enumerate(states):
                finals[k][d, b] = s
    return Y, finals


def _prepare(X, W, R, B, initial, gates, hidden_size, direction, layout):
    """Common argument handling: float64, layout, defaults for B and initial states."""
    D = _num_directions(direction)
    X = np.asarray(X, np.float64)
    W = np.asarray(W, np.float64)
    R = np.asarray(R, np.float64)
    H = R.shape[-1]
    if hidden_size is not None and hidden_size != H:
        raise ValueError(f"hidden_size {hidden_size} but R has {H} columns")
    if W.shape[0] != D or W.shape[1] != gates * H or R.shape[:2] != (D, gates * H):
        raise ValueError(f"W {W.shape} / R {R.shape} do not fit direction {direction}, hidden {H}")
    initial = [None if s is None else np.asarray(s, np.float64) for s in initial]
    X, initial = _to_seq_major(layout, X, initial)
    N = X.shape[1]
    initial = [np.zeros((D, N, H)) if s is None else s for s in initial]
    B = np.zeros((D, 2 * gates * H)) if B is None else np.asarray(B, np.float64)
    return X, W, R, B, initial, D, H


def lstm_reference(X, W, R, B=None, sequence_lens=None, initial_h=None, initial_c=None, P=None,
                   hidden_size=None, direction="forward", activations=None, activation_alpha=None,
                   activation_beta=None, clip=None, input_forget=0, layout=0, _clip_cell=False):
    """ONNX LSTM. Gate order i, o, f, c in W, R, B; peepholes P = [Pi, Po, Pf].

        i  = f(clip(x Wi' + h Ri' + Pi * C + Wbi + Rbi))
        f  = f(clip(x Wf' + h Rf' + Pf * C + Wbf + Rbf))     (f = 1 - i if input_forget)
        c~ = g(clip(x Wc' + h Rc' + Wbc + Rbc))
        C' = f * C + i * c~
        o  = f(clip(x Wo' + h Ro' + Po * C' + Wbo + Rbo))    (peephole on the NEW cell)
        h' = o * h(C')                                        (no clip on C')

    Returns (Y, Y_h, Y_c) as float64, in the shapes ``layout`` asks for. ``_clip_cell``
    (not ONNX) also clips C' before h(); only used to show that a case tells the two apart.
    """
    X, W, R, B, (h0, c0), D, H = _prepare(X, W, R, B, [initial_h, initial_c], 4, hidden_size,
                                         direction, layout)
    P = np.zeros((D, 3 * H)) if P is None else np.asarray(P, np.float64)
    acts = resolve_activations(activations or ["Sigmoid", "Tanh", "Tanh"] * D,
                               activation_alpha, activation_beta)
    if len(acts) != 3 * D:
        raise ValueError(f"LSTM needs {3 * D} activations, got {len(acts)}")

    def cell(d, x, states):
        h, c = states
        Wi, Wo, Wf, Wc = np.split(W[d], 4)
        Ri, Ro, Rf, Rc = np.split(R[d], 4)
        Wbi, Wbo, Wbf, Wbc, Rbi, Rbo, Rbf, Rbc = np.split(B[d], 8)
        Pi, Po, Pf = np.split(P[d], 3)
        fa, ga, ha = (lambda v, a=a: activation(a[0], v, a[1], a[2]) for a in acts[3 * d:3 * d + 3])
        i = fa(_clip(x @ Wi.T + h @ Ri.T + Pi * c + Wbi + Rbi, clip))
        if input_forget:
            f = 1.0 - i
        else:
            f = fa(_clip(x @ Wf.T + h @ Rf.T + Pf * c + Wbf + Rbf, clip))
        c_tilde = ga(_clip(x @ Wc.T + h @ Rc.T + Wbc + Rbc, clip))
        c_new = f * c + i * c_tilde
        o = fa(_clip(x @ Wo.T + h @ Ro.T + Po * c_new + Wbo + Rbo, clip))
        return [o * ha(_clip(c_new, clip) if _clip_cell else c_new), c_new]

    Y, (Y_h, Y_c) = _run_recurrence(X, sequence_lens, direction, [h0, c0], cell)
    return _from_seq_major(layout, Y, [Y_h, Y_c])


def gru_reference(X, W, R, B=None, sequence_lens=None, initial_h=None, hidden_size=None,
                  direction="forward", activations=None, activation_alpha=None, activation_beta=None,
                  clip=None, linear_before_reset=0, layout=0):
    """ONNX GRU. Gate order z, r, h in W, R, B.

        z  = f(clip(x Wz' + h Rz' + Wbz + Rbz))
        r  = f(clip(x Wr' + h Rr' + Wbr + Rbr))
        h~ = g(clip(x Wh' + (r * h) Rh' + Rbh + Wbh))        linear_before_reset = 0
        h~ = g(clip(x Wh' + r * (h Rh' + Rbh) + Wbh))        linear_before_reset = 1
        h' = (1 - z) * h~ + z * h

    Returns (Y, Y_h) as float64.
    """
    X, W, R, B, (h0,), D, H = _prepare(X, W, R, B, [initial_h], 3, hidden_size, direction, layout)
    acts = resolve_activations(activations or ["Sigmoid", "Tanh"] * D, activation_alpha,
                               activation_beta)
    if len(acts) != 2 * D:
        raise ValueError(f"GRU needs {2 * D} activations, got {len(acts)}")

    def cell(d, x, states):
        (h,) = states
        Wz, Wr, Wh = np.split(W[d], 3)
        Rz, Rr, Rh = np.split(R[d], 3)
        Wbz, Wbr, Wbh, Rbz, Rbr, Rbh = np.split(B[d], 6)
        fa, ga = (lambda v, a=a: activation(a[0], v, a[1], a[2]) for a in acts[2 * d:2 * d + 2])
        z = fa(_clip(x @ Wz.T + h @ Rz.T + Wbz + Rbz, clip))
        r = fa(_clip(x @ Wr.T + h @ Rr.T + Wbr + Rbr, clip))
        if linear_before_reset:
            h_tilde = ga(_clip(x @ Wh.T + r * (h @ Rh.T + Rbh) + Wbh, clip))
        else:
            h_tilde = ga(_clip(x @ Wh.T + (r * h) @ Rh.T + Rbh + Wbh, clip))
        return [(1.0 - z) * h_tilde + z * h]

    Y, (Y_h,) = _run_recurrence(X, sequence_lens, direction, [h0], cell)
    return _from_seq_major(layout, Y, [Y_h])


def rnn_reference(X, W, R, B=None, sequence_lens=None, initial_h=None, hidden_size=None,
                  direction="forward", activations=None, activation_alpha=None, activation_beta=None,
                  clip=None, layout=0):
    """ONNX RNN: h' = f(clip(x Wi' + h Ri' + Wbi + Rbi)), default f = Tanh.

    Returns (Y, Y_h) as float64.
    """
    X, W, R, B, (h0,), D, H = _prepare(X, W, R, B, [initial_h], 1, hidden_size, direction, layout)
    acts = resolve_activations(activations or ["Tanh"] * D, activation_alpha, activation_beta)
    if len(acts) != D:
        raise ValueError(f"RNN needs {D} activations, got {len(acts)}")

    def cell(d, x, states):
        (h,) = states
        Wbi, Rbi = np.split(B[d], 2)
        name, alpha, beta = acts[d]
        return [activation(name, _clip(x @ W[d].T + h @ R[d].T + Wbi + Rbi, clip), alpha, beta)]

    Y, (Y_h,) = _run_recurrence(X, sequence_lens, direction, [h0], cell)
    return _from_seq_major(layout, Y, [Y_h])


# Positional inputs and outputs of each operator, and its reference function.
OP_INPUTS = {
    "LSTM": ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"],
    "GRU": ["X", "W", "R", "B", "sequence_lens", "initial_h"],
    "RNN": ["X", "W", "R", "B", "sequence_lens", "initial_h"],
}
OP_OUTPUTS = {"LSTM": ["Y", "Y_h", "Y_c"], "GRU": ["Y", "Y_h"], "RNN": ["Y", "Y_h"]}
OP_REFERENCE = {"LSTM": lstm_reference, "GRU": gru_reference, "RNN": rnn_reference}


def node_attributes(node):
    """A node's attributes as a dict of Python values (strings decoded)."""
    attrs = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [s.decode() for s in v]
        attrs[a.name] = v
    return attrs


def run_rnn_node(node, values):
    """Evaluates one LSTM/GRU/RNN NodeProto with the numpy reference.

    ``values`` maps tensor names to arrays; an empty or missing input name is an omitted
    optional input. Returns {output name: float32 array} for the node's non-empty outputs.
    """
    op = node.op_type
    kwargs = {}
    for slot, name in zip(OP_INPUTS[op], node.input):
        if name:
            kwargs[slot] = values[name]
    kwargs.update(node_attributes(node))
    results = OP_REFERENCE[op](**kwargs)
    return {name: r.astype(np.float32) for name, r in zip(node.output, results) if name}


# --------------------------------------------------------------------------------------
# A small numpy evaluator for the graphs torch.onnx.export emits around the RNN ops
# --------------------------------------------------------------------------------------


def _axes_input(node, values, k):
    return None if len(node.input) <= k or not node.input[k] else [int(a) for a in values[node.input[k]]]


def _topk(x, k, axis, largest):
    order = np.argsort(-x if largest else x, axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis)
    return np.take_along_axis(x, idx, axis=axis), idx.astype(np.int64)


def _scatter_elements(data, indices, updates, axis):
    out = data.copy()
    axis = axis % data.ndim
    for pos in np.ndindex(indices.shape):
        target = list(pos)
        target[axis] = indices[pos]
        out[tuple(target)] = updates[pos]
    return out


def _reshape(x, shape, allowzero):
    shape = [int(s) for s in shape]
    if not allowzero:
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _slice(x, starts, ends, axes, steps):
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[a] = slice(*slice(s, e, st).indices(x.shape[a]))
    return x[tuple(index)]


def evaluate_node(node, values):
    """Evaluates one node of the ops torch emits here; returns {output name: array}."""
    op = node.op_type
    attrs = node_attributes(node)
    ins = [values[n] if n else None for n in node.input]
    if op in OP_REFERENCE:
        return run_rnn_node(node, values)
    if op == "Constant":
        out = numpy_helper.to_array(attrs["value"])
    elif op == "Identity":
        out = ins[0]
    elif op == "Shape":
        out = np.array(ins[0].shape, dtype=np.int64)
    elif op == "Gather":
        out = np.take(ins[0], ins[1], axis=attrs.get("axis", 0))
    elif op == "Unsqueeze":
        out = ins[0]
        axes = sorted(a % (ins[0].ndim + len(ins[1])) for a in ins[1])
        for a in axes:
            out = np.expand_dims(out, a)
    elif op == "Squeeze":
        axes = _axes_input(node, values, 1)
        out = np.squeeze(ins[0], axis=None if axes is None else tuple(axes))
    elif op == "Concat":
        out = np.concatenate(ins, axis=attrs["axis"])
    elif op == "Expand":
        shape = np.broadcast_shapes(ins[0].shape, tuple(int(s) for s in ins[1]))
        out = np.broadcast_to(ins[0], shape).copy()
    elif op == "Transpose":
        out = np.transpose(ins[0], attrs.get("perm"))
    elif op == "Reshape":
        out = _reshape(ins[0], ins[1], attrs.get("allowzero", 0))
    elif op == "Slice":
        out = _slice(ins[0], [int(v) for v in ins[1]], [int(v) for v in ins[2]],
                     _axes_input(node, values, 3), _axes_input(node, values, 4))
    elif op == "Cast":
        out = ins[0].astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[attrs["to"]])
    elif op in ("Add", "Sub", "Mul", "Div", "MatMul"):
        fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide,
              "MatMul": np.matmul}[op]
        out = fn(ins[0], ins[1])
    elif op == "Gemm":
        a = ins[0].T if attrs.get("transA") else ins[0]
        b = ins[1].T if attrs.get("transB") else ins[1]
        out = attrs.get("alpha", 1.0) * (a @ b)
        if len(ins) > 2 and ins[2] is not None:
            out = out + attrs.get("beta", 1.0) * ins[2]
    elif op == "TopK":
        vals, idx = _topk(ins[0], int(ins[1][0]), attrs.get("axis", -1), attrs.get("largest", 1))
        return dict(zip(node.output, (vals, idx)))
    elif op == "ScatterElements":
        out = _scatter_elements(ins[0], ins[1], ins[2], attrs.get("axis", 0))
    else:
        raise NotImplementedError(f"evaluate_node: no numpy version of {op}")
    return {node.output[0]: np.asarray(out)}


def evaluate_graph(model, feeds):
    """Runs a whole (topologically sorted) graph; returns the graph outputs in order."""
    values = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    values.update(feeds)
    for node in model.graph.node:
        values.update(evaluate_node(node, values))
    return [values[o.name] for o in model.graph.output]


# --------------------------------------------------------------------------------------
# Writing cases
# --------------------------------------------------------------------------------------


def rng_for(name):
    """A generator seeded from the case name, so cases do not depend on their order."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def write_case(out_dir, name, model, inputs, outputs):
    """Writes model.onnx and test_data_set_0/{input,output}_K.pb for one case."""
    onnx.checker.check_model(model, full_check=True)
    case_dir = os.path.join(out_dir, name)
    data_dir = os.path.join(case_dir, "test_data_set_0")
    os.makedirs(data_dir)
    onnx.save(model, os.path.join(case_dir, "model.onnx"))
    for prefix, tensors in (("input", inputs), ("output", outputs)):
        for k, (tname, arr) in enumerate(tensors):
            with open(os.path.join(data_dir, f"{prefix}_{k}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(np.asarray(arr), tname).SerializeToString())


def _value_info(name, arr):
    return helper.make_tensor_value_info(name, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[arr.dtype],
                                         list(arr.shape))


def single_op_model(op, inputs, attrs, outputs, initializers=(), trailing_empty=False):
    """Builds a one-node model and computes its expected outputs with the reference.

    inputs: {slot name: (tensor name, array)} for the slots present (others omitted,
        written as '' when a later slot is present). initializers: slot names stored as
        graph initializers rather than graph inputs. outputs: node output names, '' for an
        omitted output. trailing_empty keeps trailing '' input names explicitly.
    Returns (model, [(name, input array)], [(name, expected array)]).
    """
    slots = OP_INPUTS[op]
    unknown = set(inputs) - set(slots)
    if unknown:
        raise ValueError(f"{op} has no input {unknown}")
    node_inputs = [inputs[s][0] if s in inputs else "" for s in slots]
    if not trailing_empty:
        while node_inputs and not node_inputs[-1]:
            node_inputs.pop()
    node = helper.make_node(op, node_inputs, list(outputs), name=f"{op.lower()}_node", **attrs)
    values = {name: arr for name, arr in inputs.values()}
    expected = run_rnn_node(node, values)
    graph_inputs = [(inputs[s][0], inputs[s][1]) for s in slots if s in inputs and s not in initializers]
    inits = [numpy_helper.from_array(inputs[s][1], inputs[s][0]) for s in slots
             if s in inputs and s in initializers]
    graph_outputs = [(n, expected[n]) for n in outputs if n]
    graph = helper.make_graph([node], f"{op.lower()}_case",
                              [_value_info(n, a) for n, a in graph_inputs],
                              [_value_info(n, a) for n, a in graph_outputs], initializer=inits)
    model = helper.make_model(graph, producer_name="recur scripts/gen_onnx_cases.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 7
    return model, graph_inputs, graph_outputs


class Cases:
    """Collects the generated cases (name -> description) while writing them."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.index = []

    def add(self, name, description, model, inputs, outputs):
        write_case(self.out_dir, name, model, inputs, outputs)
        ops = sorted({n.op_type for n in model.graph.node})
        self.index.append((name, description, ops))
        print(f"  {name}: {description}")


def random_rnn_inputs(rng, op, T, N, I, H, direction, layout=0, with_bias=True, lengths=None,
                      with_h0=False, with_c0=False, with_p=False, scale=0.6):
    """Random float32 inputs for one RNN op: {slot: (name, array)}."""
    D = _num_directions(direction)
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    f32 = lambda *shape, s=scale: (rng.standard_normal(shape) * s).astype(np.float32)  # noqa: E731
    x_shape = (N, T, I) if layout else (T, N, I)
    state_shape = (N, D, H) if layout else (D, N, H)
    inputs = {"X": ("X", f32(*x_shape, s=1.0)), "W": ("W", f32(D, G * H, I)),
              "R": ("R", f32(D, G * H, H))}
    if with_bias:
        inputs["B"] = ("B", f32(D, 2 * G * H, s=0.3))
    if lengths is not None:
        assert len(lengths) == N and max(lengths) <= T
        inputs["sequence_lens"] = ("sequence_lens", np.array(lengths, dtype=np.int32))
    if with_h0:
        inputs["initial_h"] = ("initial_h", f32(*state_shape, s=0.5))
    if with_c0:
        inputs["initial_c"] = ("initial_c", f32(*state_shape, s=0.5))
    if with_p:
        inputs["P"] = ("P", f32(D, 3 * H, s=0.5))
    return inputs


def activation_attrs(spec):
    """[(name, alpha or None, beta or None), ...] -> activations / activation_alpha / _beta
    attributes, with values listed the way resolve_activations consumes them."""
    names = [s[0] for s in spec]
    alphas = [s[1] for s in spec if s[1] is not None]
    betas = [s[2] for s in spec if s[2] is not None]
    attrs = {"activations": names}
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    return attrs


def op_case(cases, name, description, op, T, N, I, H, direction="forward", layout=0,
            with_bias=True, lengths=None, with_h0=False, with_c0=False, with_p=False,
            attrs=None, outputs=None, initializers=(), trailing_empty=False, omit=(),
            scale=0.6, ambiguous_ok=False):
    """Adds one single-op case with random inputs (see random_rnn_inputs/single_op_model).

    omit: slots dropped after drawing (so '' placeholders appear between present inputs).
    """
    rng = rng_for(name)
    inputs = random_rnn_inputs(rng, op, T, N, I, H, direction, layout, with_bias, lengths,
                               with_h0, with_c0, with_p, scale)
    for slot in omit:
        inputs.pop(slot)
    attrs = dict(attrs or {})
    attrs.setdefault("hidden_size", H)
    if direction != "forward":
        attrs["direction"] = direction
    if layout:
        attrs["layout"] = layout
    if "activations" in attrs and not ambiguous_ok:
        assert alpha_beta_lists_are_unambiguous(attrs["activations"]), name
    outputs = OP_OUTPUTS[op] if outputs is None else outputs
    model, ins, outs = single_op_model(op, inputs, attrs, outputs, initializers, trailing_empty)
    check_sensitivity(name, op, inputs, attrs, outputs, dict(outs))
    cases.add(name, description, model, ins, outs)


# Optional inputs and attributes whose effect every case must show (see check_sensitivity).
SENSITIVE_SLOTS = ("B", "sequence_lens", "initial_h", "initial_c", "P")
SENSITIVE_ATTRS = ("clip", "input_forget", "linear_before_reset")


def check_sensitivity(name, op, inputs, attrs, outputs, expected):
    """Asserts that each optional input given and each clip / input_forget /
    linear_before_reset set actually changes the requested outputs (max abs change > 1e-3),
    so a reader that ignores it cannot pass the case (e.g. a clip that never engages)."""
    base = {slot: arr for slot, (_, arr) in inputs.items()}
    base.update(attrs)
    for key in SENSITIVE_SLOTS + SENSITIVE_ATTRS:
        if key not in base or (key in SENSITIVE_ATTRS and not base[key]):
            continue
        kwargs = {k: v for k, v in base.items() if k != key}
        results = OP_REFERENCE[op](**kwargs)
        change = max(float(np.max(np.abs(r.astype(np.float32) - expected[n])))
                     for n, r in zip(outputs, results) if n)
        if change <= 1e-3:
            raise SystemExit(f"{name}: outputs do not depend on {key} (max change {change:.1e})")
    if name == "lstm_clip_cell_exceeds":
        Y = lstm_reference(**base, _clip_cell=True)[0].astype(np.float32)
        if np.max(np.abs(Y - expected["Y"])) <= 1e-3:
            raise SystemExit(f"{name}: clipping C before h() makes no difference")


# --------------------------------------------------------------------------------------
# The single-op cases, one function per operator family
# --------------------------------------------------------------------------------------


def lstm_cases(cases):
    """LSTM: directions, lengths, states, peepholes, clip, input_forget, layout, activations,
    omitted inputs/outputs."""
    op_case(cases, "lstm_forward", "forward, B, initial_h/c, Y/Y_h/Y_c", "LSTM", 4, 2, 3, 5,
            with_h0=True, with_c0=True)
    op_case(cases, "lstm_forward_no_bias_no_state", "forward, only X/W/R, Y/Y_h/Y_c", "LSTM", 3, 3, 2,
            4, with_bias=False)
    op_case(cases, "lstm_reverse", "reverse, B, initial_h/c", "LSTM", 5, 2, 3, 4, direction="reverse",
            with_h0=True, with_c0=True)
    op_case(cases, "lstm_bidirectional", "bidirectional, B, initial_h/c", "LSTM", 4, 3, 3, 4,
            direction="bidirectional", with_h0=True, with_c0=True)
    op_case(cases, "lstm_bidirectional_seq_lens",
            "bidirectional with sequence_lens [5,2,4,1], B, initial_h/c", "LSTM", 5, 4, 3, 4,
            direction="bidirectional", lengths=[5, 2, 4, 1], with_h0=True, with_c0=True)
    op_case(cases, "lstm_forward_seq_lens", "forward with sequence_lens [2,4,3], no initial state",
            "LSTM", 4, 3, 2, 5, lengths=[2, 4, 3])
    op_case(cases, "lstm_reverse_seq_lens", "reverse with sequence_lens [3,1,4], initial_h/c", "LSTM",
            4, 3, 2, 3, direction="reverse", lengths=[3, 1, 4], with_h0=True, with_c0=True)
    op_case(cases, "lstm_peepholes", "forward, random peepholes P, B, initial_h/c", "LSTM", 4, 2, 3, 4,
            with_h0=True, with_c0=True, with_p=True)
    op_case(cases, "lstm_bidirectional_peepholes_seq_lens",
            "bidirectional, random P, sequence_lens [3,5], initial_h/c", "LSTM", 5, 2, 3, 3,
            direction="bidirectional", lengths=[3, 5], with_h0=True, with_c0=True, with_p=True)
    op_case(cases, "lstm_clip_input_forget", "clip=0.7 and input_forget=1 (f = 1 - i), P, initial_h/c",
            "LSTM", 5, 2, 3, 4, with_h0=True, with_c0=True, with_p=True,
            attrs={"clip": 0.7, "input_forget": 1}, scale=1.2)
    op_case(cases, "lstm_clip_cell_exceeds",
            "clip=1 with g=Affine(2.5) so |C| > clip: clip must not be applied to C before h()",
            "LSTM", 6, 2, 3, 4, with_h0=True, with_c0=True, attrs={
                "clip": 1.0, **activation_attrs([("HardSigmoid", 0.3, 0.6), ("Affine", 2.5, 0.0),
                                                 ("Tanh", None, None)])}, scale=1.2)
    op_case(cases, "lstm_clip", "clip=0.5, bidirectional", "LSTM", 4, 2, 3, 4,
            direction="bidirectional", attrs={"clip": 0.5}, with_h0=True, with_c0=True, scale=1.2)
    op_case(cases, "lstm_input_forget_bidirectional", "input_forget=1, bidirectional, sequence_lens",
            "LSTM", 4, 2, 3, 3, direction="bidirectional", lengths=[4, 2],
            attrs={"input_forget": 1}, with_h0=True, with_c0=True)
    op_case(cases, "lstm_layout1", "layout=1 (batch-major X/Y/states), forward, initial_h/c",
            "LSTM", 4, 3, 3, 4, layout=1, with_h0=True, with_c0=True)
    op_case(cases, "lstm_layout1_bidirectional_seq_lens",
            "layout=1, bidirectional, sequence_lens [2,4,3], initial_h/c, P", "LSTM", 4, 3, 2, 3,
            direction="bidirectional", layout=1, lengths=[2, 4, 3], with_h0=True, with_c0=True,
            with_p=True)
    op_case(cases, "lstm_activations_forward",
            "activations HardSigmoid/ScaledTanh/ThresholdedRelu with alpha/beta", "LSTM", 4, 2, 3, 4,
            with_h0=True, with_c0=True,
            attrs=activation_attrs([("HardSigmoid", 0.3, 0.45), ("ScaledTanh", 1.3, 0.7),
                                    ("ThresholdedRelu", 0.2, None)]))
    op_case(cases, "lstm_activations_bidirectional",
            "per-direction activations: fwd HardSigmoid/LeakyRelu/Elu, rev Sigmoid/Softsign/Softplus",
            "LSTM", 4, 2, 3, 4, direction="bidirectional", with_h0=True, with_c0=True,
            attrs=activation_attrs([("HardSigmoid", 0.25, 0.55), ("LeakyRelu", 0.15, None),
                                    ("Elu", 0.8, None), ("Sigmoid", None, None),
                                    ("Softsign", None, None), ("Softplus", None, None)]))
    op_case(cases, "lstm_activations_relu_tanh", "activations Sigmoid/Relu/Tanh (Relu cell), reverse",
            "LSTM", 4, 2, 3, 4, direction="reverse",
            attrs=activation_attrs([("Sigmoid", None, None), ("Relu", None, None),
                                    ("Tanh", None, None)]))
    op_case(cases, "lstm_activation_alpha_order",
            "activations Sigmoid/Affine/Tanh, alpha=[0.7] beta=[0.2] go to Affine (ORT convention)",
            "LSTM", 4, 2, 3, 4, with_h0=True, with_c0=True, ambiguous_ok=True,
            attrs=activation_attrs([("Sigmoid", None, None), ("Affine", 0.7, 0.2),
                                    ("Tanh", None, None)]))
    op_case(cases, "lstm_only_y_c_placeholders",
            "inputs X,W,R,'','',initial_h,'',P ('' placeholders); outputs '','',Y_c", "LSTM",
            3, 2, 3, 4, with_bias=False, with_h0=True, with_p=True, outputs=["", "", "Y_c"])
    op_case(cases, "lstm_only_y_h_trailing_empty",
            "inputs X,W,R,B,'','','','' (explicit trailing ''); outputs '',Y_h", "LSTM", 3, 2, 3, 4,
            outputs=["", "Y_h"], trailing_empty=True)
    op_case(cases, "lstm_only_y", "outputs Y only (Y_h, Y_c not requested)", "LSTM", 3, 1, 3, 3,
            with_h0=True, with_c0=True, outputs=["Y"])
    op_case(cases, "lstm_initializers",
            "W, R, B, sequence_lens [3,2] are initializers; only X, initial_h, initial_c are inputs",
            "LSTM", 3, 2, 4, 6, lengths=[3, 2], with_h0=True, with_c0=True,
            initializers=("W", "R", "B", "sequence_lens"))
    op_case(cases, "lstm_batch1_hidden8", "batch 1, hidden 8, T 6, bidirectional", "LSTM", 6, 1, 2, 8,
            direction="bidirectional", with_h0=True, with_c0=True)


def gru_cases(cases):
    """GRU: directions, lengths, linear_before_reset, clip, layout, activations, omissions."""
    op_case(cases, "gru_forward", "forward, B, initial_h, linear_before_reset=0", "GRU", 4, 2, 3, 5,
            with_h0=True)
    op_case(cases, "gru_forward_lbr1", "forward, linear_before_reset=1, B, initial_h", "GRU", 4, 2, 3,
            5, with_h0=True, attrs={"linear_before_reset": 1})
    op_case(cases, "gru_forward_no_bias_no_state", "forward, only X/W/R", "GRU", 3, 3, 2, 4,
            with_bias=False)
    op_case(cases, "gru_reverse_clip", "reverse, clip=0.6, no B, initial_h", "GRU", 5, 2, 3, 4,
            direction="reverse", with_bias=False, with_h0=True, attrs={"clip": 0.6}, scale=1.2)
    op_case(cases, "gru_bidirectional_lbr0_seq_lens",
            "bidirectional, linear_before_reset=0, sequence_lens [4,1,3], initial_h", "GRU", 4, 3, 3,
            4, direction="bidirectional", lengths=[4, 1, 3], with_h0=True,
            attrs={"linear_before_reset": 0})
    op_case(cases, "gru_bidirectional_lbr1_seq_lens",
            "bidirectional, linear_before_reset=1, sequence_lens [2,4,3], initial_h", "GRU", 4, 3, 3,
            4, direction="bidirectional", lengths=[2, 4, 3], with_h0=True,
            attrs={"linear_before_reset": 1})
    op_case(cases, "gru_layout1", "layout=1, forward, initial_h", "GRU", 4, 3, 2, 4, layout=1,
            with_h0=True)
    op_case(cases, "gru_layout1_bidirectional_lbr1_seq_lens",
            "layout=1, bidirectional, linear_before_reset=1, sequence_lens [3,1]", "GRU", 3, 2, 3, 5,
            direction="bidirectional", layout=1, lengths=[3, 1], with_h0=True,
            attrs={"linear_before_reset": 1})
    op_case(cases, "gru_activations_sigmoid_relu", "activations Sigmoid/Relu", "GRU", 4, 2, 3, 4,
            with_h0=True, attrs=activation_attrs([("Sigmoid", None, None), ("Relu", None, None)]))
    op_case(cases, "gru_activations_bidirectional",
            "per-direction activations: fwd HardSigmoid/Affine, rev ThresholdedRelu/Softsign",
            "GRU", 4, 2, 3, 4, direction="bidirectional", with_h0=True,
            attrs=activation_attrs([("HardSigmoid", 0.3, 0.4), ("Affine", 0.8, 0.1),
                                    ("ThresholdedRelu", 0.1, None), ("Softsign", None, None)]))
    op_case(cases, "gru_activations_scaledtanh_elu", "activations ScaledTanh/Elu, lbr=1", "GRU", 4, 2,
            3, 4, with_h0=True,
            attrs={**activation_attrs([("ScaledTanh", 0.9, 1.2), ("Elu", 0.6, None)]),
                   "linear_before_reset": 1})
    op_case(cases, "gru_activations_leakyrelu_softplus", "activations LeakyRelu/Softplus", "GRU", 3, 2,
            3, 4, attrs=activation_attrs([("LeakyRelu", 0.2, None), ("Softplus", None, None)]))
    op_case(cases, "gru_activation_defaults",
            "activations HardSigmoid/Elu without alpha/beta (defaults 0.2/0.5 and 1.0)", "GRU", 4, 2,
            3, 4, with_h0=True, attrs={"activations": ["HardSigmoid", "Elu"]})
    op_case(cases, "gru_only_y_h_placeholders",
            "inputs X,W,R,'','',initial_h; output '',Y_h", "GRU", 3, 2, 3, 4, with_bias=False,
            with_h0=True, outputs=["", "Y_h"])
    op_case(cases, "gru_initializers", "W, R, B initializers; only Y requested", "GRU", 3, 2, 4, 3,
            with_h0=True, initializers=("W", "R", "B"), outputs=["Y"])


def rnn_cases(cases):
    """RNN: directions, lengths, clip, layout, every activation, omissions."""
    op_case(cases, "rnn_forward", "forward Tanh, B, initial_h", "RNN", 4, 2, 3, 5, with_h0=True)
    op_case(cases, "rnn_forward_no_bias_no_state", "forward, only X/W/R", "RNN", 3, 3, 2, 4,
            with_bias=False)
    op_case(cases, "rnn_reverse_relu", "reverse, activation Relu, B, initial_h", "RNN", 5, 2, 3, 4,
            direction="reverse", with_h0=True, attrs={"activations": ["Relu"]})
    op_case(cases, "rnn_reverse_relu_seq_lens", "reverse Relu with sequence_lens [2,5,3]", "RNN", 5, 3,
            2, 4, direction="reverse", lengths=[2, 5, 3], attrs={"activations": ["Relu"]})
    op_case(cases, "rnn_bidirectional_seq_lens",
            "bidirectional, activations Relu (fwd) / Tanh (rev), sequence_lens [3,4,1], initial_h",
            "RNN", 4, 3, 3, 4, direction="bidirectional", lengths=[3, 4, 1], with_h0=True,
            attrs={"activations": ["Relu", "Tanh"]})
    op_case(cases, "rnn_clip", "clip=0.4, bidirectional", "RNN", 4, 2, 3, 4,
            direction="bidirectional", with_h0=True, attrs={"clip": 0.4}, scale=1.2)
    op_case(cases, "rnn_layout1", "layout=1, forward, initial_h", "RNN", 4, 3, 2, 3, layout=1,
            with_h0=True)
    op_case(cases, "rnn_layout1_bidirectional_seq_lens",
            "layout=1, bidirectional, sequence_lens [4,2], initial_h", "RNN", 4, 2, 3, 4,
            direction="bidirectional", layout=1, lengths=[4, 2], with_h0=True)
    op_case(cases, "rnn_activations_affine_scaledtanh", "activations Affine (fwd) / ScaledTanh (rev)",
            "RNN", 4, 2, 3, 4, direction="bidirectional", with_h0=True,
            attrs=activation_attrs([("Affine", 0.6, 0.2), ("ScaledTanh", 1.5, 0.5)]))
    op_case(cases, "rnn_activations_hardsigmoid_leakyrelu",
            "activations HardSigmoid (fwd) / LeakyRelu (rev)", "RNN", 4, 2, 3, 4,
            direction="bidirectional", attrs=activation_attrs([("HardSigmoid", 0.35, 0.45),
                                                               ("LeakyRelu", 0.1, None)]))
    op_case(cases, "rnn_activations_thresholdedrelu_elu",
            "activations ThresholdedRelu (fwd) / Elu (rev)", "RNN", 4, 2, 3, 4,
            direction="bidirectional", with_h0=True,
            attrs=activation_attrs([("ThresholdedRelu", 0.3, None), ("Elu", 0.7, None)]))
    op_case(cases, "rnn_activations_softsign_softplus", "activations Softsign (fwd) / Softplus (rev)",
            "RNN", 4, 2, 3, 4, direction="bidirectional",
            attrs=activation_attrs([("Softsign", None, None), ("Softplus", None, None)]))
    op_case(cases, "rnn_activations_sigmoid", "activation Sigmoid, sequence_lens [1,3]", "RNN", 3, 2, 3,
            4, lengths=[1, 3], attrs={"activations": ["Sigmoid"]})
    op_case(cases, "rnn_only_y_placeholders", "inputs X,W,R,B,'',initial_h; output Y only", "RNN", 3, 2,
            3, 4, with_h0=True, outputs=["Y"])


# --------------------------------------------------------------------------------------
# torch.onnx.export cases
# --------------------------------------------------------------------------------------


def _torch():
    import torch  # imported lazily: the single-op cases and --check-official do not need it

    return torch


def export_torch_case(cases, name, description, module, args, input_names, output_names):
    """Exports ``module`` at opset 14, expected outputs from torch; cross-checks the graph with
    the numpy evaluator (float64) against torch."""
    torch = _torch()
    module.eval()
    with torch.no_grad():
        expected = module(*args)
    expected = [t.numpy() for t in expected]
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, buf, opset_version=OPSET, input_names=input_names,
                          output_names=output_names, do_constant_folding=True)
    model = onnx.load_from_string(buf.getvalue())
    model.producer_name = "pytorch (recur scripts/gen_onnx_cases.py)"
    inputs = [(n, a.numpy()) for n, a in zip(input_names, args)]
    outputs = list(zip(output_names, expected))
    mine = evaluate_graph(model, dict(inputs))
    for (n, want), got in zip(outputs, mine):
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-5):
            diff = np.max(np.abs(got - want)) if got.shape == want.shape else "shape"
            raise SystemExit(f"{name}: numpy graph evaluation disagrees with torch on {n}: {diff}")
    cases.add(name, description, model, inputs, outputs)


def _randomize(torch, module, rng_seed, scale=0.5):
    gen = torch.Generator().manual_seed(rng_seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    return module


class _RNNWrapper:
    """Builds a torch module returning (y, h_n[, c_n]) for an nn.LSTM/GRU/RNN."""

    @staticmethod
    def make(torch, rnn, with_state):
        class Wrapped(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = rnn

            def forward(self, x, *state):
                if not with_state:
                    out, h = self.rnn(x)
                elif len(state) == 2:
                    out, h = self.rnn(x, (state[0], state[1]))
                else:
                    out, h = self.rnn(x, state[0])
                return (out, *h) if isinstance(h, tuple) else (out, h)

        return Wrapped()


def torch_rnn_case(cases, name, kind, I, H, T, N, layers=1, bidirectional=False, batch_first=False,
                   with_state=False, nonlinearity="tanh"):
    """One exported nn.LSTM / nn.GRU / nn.RNN with random weights and inputs."""
    torch = _torch()
    seed = zlib.crc32(name.encode())
    torch.manual_seed(seed)
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
    extra = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
    rnn = _randomize(torch, cls(I, H, num_layers=layers, bidirectional=bidirectional,
                                batch_first=batch_first, **extra), seed)
    D = 2 if bidirectional else 1
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn((N, T, I) if batch_first else (T, N, I), generator=gen)
    args, input_names = [x], ["x"]
    if with_state:
        args.append(torch.randn(layers * D, N, H, generator=gen) * 0.5)
        input_names.append("h0")
        if kind == "lstm":
            args.append(torch.randn(layers * D, N, H, generator=gen) * 0.5)
            input_names.append("c0")
    output_names = ["y", "h_n", "c_n"] if kind == "lstm" else ["y", "h_n"]
    desc = (f"torch nn.{cls.__name__}({I},{H}, layers={layers}, bidirectional={bidirectional}, "
            f"batch_first={batch_first}{', ' + nonlinearity if kind == 'rnn' else ''}), "
            f"{'with' if with_state else 'no'} initial state, T={T} N={N}")
    export_torch_case(cases, name, desc, _RNNWrapper.make(torch, rnn, with_state), tuple(args),
                      input_names, output_names)


def torch_packed_case(cases, name, enforce_sorted, lengths):
    """Bidirectional nn.LSTM over pack_padded_sequence / pad_packed_sequence (lengths input)."""
    torch = _torch()
    seed = zlib.crc32(name.encode())
    I, H, T = 3, 4, max(lengths)

    class Packed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(I, H, bidirectional=True)

        def forward(self, x, lens):
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, lens, enforce_sorted=enforce_sorted)
            y, (h, c) = self.rnn(packed)
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, total_length=x.shape[0])
            return y, h, c

    module = Packed()
    _randomize(torch, module, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(T, len(lengths), I, generator=gen)
    lens = torch.tensor(lengths, dtype=torch.int64)
    desc = (f"torch bidirectional nn.LSTM({I},{H}) on pack_padded_sequence(enforce_sorted="
            f"{enforce_sorted}), lengths {lengths} as an int64 input")
    export_torch_case(cases, name, desc, module, (x, lens), ["x", "lengths"], ["y", "h_n", "c_n"])


def torch_char_lm_case(cases):
    """Embedding(20, 8) + 2-layer LSTM(8 -> 16) + Linear(16 -> 20), int64 tokens [T, B]."""
    torch = _torch()
    name = "torch_char_lm_lstm2"
    seed = zlib.crc32(name.encode())
    V, E, H, L, T, N = 20, 8, 16, 2, 5, 2

    class CharLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(V, E)
            self.lstm = torch.nn.LSTM(E, H, num_layers=L)
            self.out = torch.nn.Linear(H, V)

        def forward(self, tokens, h0, c0):
            y, (h, c) = self.lstm(self.embed(tokens), (h0, c0))
            return self.out(y), h, c

    module = CharLM()
    _randomize(torch, module, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    tokens = torch.randint(0, V, (T, N), generator=gen, dtype=torch.int64)
    h0 = torch.randn(L, N, H, generator=gen) * 0.5
    c0 = torch.randn(L, N, H, generator=gen) * 0.5
    export_torch_case(cases, name,
                      "char LM: Embedding(20,8) + 2-layer LSTM(8->16) + Linear(16->20); int64 "
                      "tokens [5,2], h0/c0 inputs; outputs logits, h_n, c_n",
                      module, (tokens, h0, c0), ["tokens", "h0", "c0"], ["logits", "h_n", "c_n"])


def torch_cases(cases):
    """Exported PyTorch models (expected outputs from torch)."""
    torch_rnn_case(cases, "torch_lstm", "lstm", 3, 5, 4, 2)
    torch_rnn_case(cases, "torch_lstm_h0c0", "lstm", 3, 4, 3, 2, with_state=True)
    torch_rnn_case(cases, "torch_lstm_bidirectional", "lstm", 3, 4, 4, 3, bidirectional=True)
    torch_rnn_case(cases, "torch_lstm_2layer_bidirectional_batch_first_h0c0", "lstm", 3, 4, 4, 2,
                   layers=2, bidirectional=True, batch_first=True, with_state=True)
    torch_rnn_case(cases, "torch_lstm_2layer", "lstm", 2, 5, 3, 2, layers=2)
    torch_rnn_case(cases, "torch_gru_h0", "gru", 3, 5, 4, 2, with_state=True)
    torch_rnn_case(cases, "torch_gru_2layer_bidirectional_batch_first", "gru", 3, 4, 4, 2, layers=2,
                   bidirectional=True, batch_first=True)
    torch_rnn_case(cases, "torch_gru_batch_first", "gru", 2, 3, 5, 3, batch_first=True)
    torch_rnn_case(cases, "torch_rnn_tanh_bidirectional", "rnn", 3, 5, 4, 2, bidirectional=True)
    torch_rnn_case(cases, "torch_rnn_relu_2layer_batch_first_h0", "rnn", 3, 4, 4, 3, layers=2,
                   batch_first=True, with_state=True, nonlinearity="relu")
    torch_rnn_case(cases, "torch_rnn_relu", "rnn", 2, 4, 3, 2, nonlinearity="relu")
    torch_packed_case(cases, "torch_lstm_packed_sorted", True, [5, 3, 2])
    torch_packed_case(cases, "torch_lstm_packed_unsorted", False, [2, 5, 3])
    torch_char_lm_case(cases)


# --------------------------------------------------------------------------------------
# Sanity check against ONNX's own node tests
# --------------------------------------------------------------------------------------


def load_backend_case(case_dir):
    """Reads model.onnx and test_data_set_0 of a backend-test-format folder."""
    model = onnx.load(os.path.join(case_dir, "model.onnx"))
    data = os.path.join(case_dir, "test_data_set_0")

    def read(prefix):
        out, k = [], 0
        while os.path.exists(os.path.join(data, f"{prefix}_{k}.pb")):
            t = TensorProto()
            with open(os.path.join(data, f"{prefix}_{k}.pb"), "rb") as f:
                t.ParseFromString(f.read())
            out.append(numpy_helper.to_array(t))
            k += 1
        return out

    return model, read("input"), read("output")


def check_backend_dirs(dirs, rtol=1e-5, atol=1e-6):
    """Runs each folder's graph with the numpy evaluator; returns the number of failures."""
    failed = 0
    for case_dir in dirs:
        model, inputs, outputs = load_backend_case(case_dir)
        init_names = {i.name for i in model.graph.initializer}
        names = [i.name for i in model.graph.input if i.name not in init_names]
        got = evaluate_graph(model, dict(zip(names, inputs)))
        worst = 0.0
        ok = len(got) == len(outputs)
        for g, want in zip(got, outputs):
            if g.shape != want.shape:
                ok = False
                continue
            worst = max(worst, float(np.max(np.abs(g.astype(np.float64) - want))))
            ok = ok and np.allclose(g, want, rtol=rtol, atol=atol)
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {os.path.basename(case_dir.rstrip('/'))}: max abs diff {worst:.2e}")
    return failed


# --------------------------------------------------------------------------------------


def write_index(cases, path):
    """Writes a Markdown table of the cases (name, ops in the graph, what it covers)."""
    with open(path, "w") as f:
        f.write("# ONNX reference cases\n\nGenerated by `scripts/gen_onnx_cases.py`; do not edit.\n\n")
        f.write("| case | ops | covers |\n| --- | --- | --- |\n")
        for name, description, ops in cases.index:
            f.write(f"| `{name}` | {', '.join(ops)} | {description} |\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch.onnx.export cases")
    parser.add_argument("--check-official", metavar="NODE_DIR",
                        help="instead of generating, run the numpy reference on the test_lstm*, "
                             "test_gru*, test_rnn*, test_simple_rnn* folders of NODE_DIR")
    args = parser.parse_args()

    if args.check_official:
        dirs = sorted(os.path.join(args.check_official, d) for d in os.listdir(args.check_official)
                      if d.startswith(("test_lstm", "test_gru", "test_rnn", "test_simple_rnn")))
        if not dirs:
            raise SystemExit(f"no LSTM/GRU/RNN node tests in {args.check_official}")
        failed = check_backend_dirs(dirs)
        print(f"{len(dirs) - failed} passed, {failed} failed")
        return 1 if failed else 0

    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    cases = Cases(args.out)
    print("single-op cases (expected outputs from the numpy reference):")
    lstm_cases(cases)
    gru_cases(cases)
    rnn_cases(cases)
    if not args.no_torch:
        print("torch.onnx.export cases (expected outputs from torch):")
        torch_cases(cases)
    write_index(cases, os.path.join(os.path.dirname(args.out.rstrip("/")), "CASES.md"))
    print(f"wrote {len(cases.index)} cases to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
