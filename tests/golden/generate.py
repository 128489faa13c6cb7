#!/usr/bin/python3
"""Generate the PyTorch golden fixtures for xent (tests/golden/*.txt).

Regenerate with (from the repository root; Debian's torch 1.13.1 is only importable by /usr/bin/python3):

    /usr/bin/python3 tests/golden/generate.py

The output is deterministic (fixed numpy seed, 1 torch thread); rerunning it rewrites the same files.
tests/test_golden*.cpp read the fixtures through tests/golden_fixtures.hpp.

File format (plain text, one record per line, fields separated by single spaces)
-------------------------------------------------------------------------------
MANIFEST lists the fixture files, one file name per line.

Each fixture file is a sequence of cases:

    case <name>                     unique over all files
    op <cross_entropy|nll_loss|bce_with_logits|bce|log_softmax|softmax|logsumexp>
    dtype <float32|float64>         the scalar type PyTorch computed in (and xent must be run in)
    shape <N> <C>                   samples x classes (row-major, samples in rows, as PyTorch's (N, C))
    logits <N*C numbers>            row-major input: logits (cross_entropy, bce_with_logits, softmax family),
                                    log-probabilities (nll_loss) or probabilities (bce)
    targets_index <N ints>          class indices (cross_entropy, nll_loss)
    targets_prob <N*C numbers>      class probabilities (cross_entropy) or element targets (bce*)
    weight <numbers>                optional. cross_entropy/nll_loss: C per-class weights.
                                    bce*: count given by weight_kind
    weight_kind <k>                 bce* only, with weight: per_class (C numbers), per_sample (N numbers,
                                    PyTorch shape (N,1)) or elementwise (N*C numbers, row-major)
    pos_weight <C numbers>          optional, bce_with_logits only
    ignore_index <int>              cross_entropy / nll_loss (-100 is PyTorch's default)
    label_smoothing <eps>           cross_entropy
    output <numbers>                softmax family: forward output (N*C; N for logsumexp)
    loss_none <numbers>             losses: reduction='none' (N for cross_entropy/nll_loss, N*C for bce*)
    loss_mean <x>                   reduction='mean'
    loss_sum <x>                    reduction='sum'
    grad_mean <N*C>                 d loss_mean / d logits
    grad_sum <N*C>                  d loss_sum / d logits
    grad_outputs <numbers>          upstream gradient g for the vector-Jacobian product below:
                                    N for cross_entropy/nll_loss/logsumexp, N*C for bce*/softmax/log_softmax
    grad_none <N*C>                 losses: d sum(loss_none * g) / d logits;
                                    softmax family: the vjp of the forward output with g
    xent_differs <reason>           zero or more; xent deliberately differs from PyTorch here (see below)
    end

Lines starting with '#' are comments. Numbers are Python repr() of the value converted to a Python float
(float32 values are converted exactly, so parsing with std::strtod and casting back to float is exact);
non-finite values are written nan, inf, -inf. All matrices are row-major (sample n, class c at n*C+c).

xent_differs reasons (the four documented improvements of xent over PyTorch, notes/api.md):
    ignored_row_grad_zero       (1) an ignored sample's gradient row is exactly 0 even when its logits are
                                NaN / +inf / all -inf (PyTorch: NaN row). Losses equal PyTorch's.
    zero_prob_target_masked     (2) probability targets: a zero target probability contributes 0 even where
                                the logit is -inf (PyTorch: loss NaN = 0*-inf). Gradients equal PyTorch's.
    bce_logits_tails            (3) BCE-with-logits losses are accurate in the tails and take their limits at
                                +-inf (PyTorch 1.13: 0 at x=-20,t=0 in float32, NaN at +-inf). Gradients equal
                                PyTorch's.
    label_smoothing_negative    (4) label_smoothing < 0 is an error in xent (PyTorch ignores it; the stored
                                values are PyTorch's, i.e. those of label_smoothing 0).
"""

import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(20240517)
INF = float("inf")
NAN = float("nan")
DTYPES = {"float32": torch.float32, "float64": torch.float64}

_files = {}  # file name -> list of lines
_names = set()


def num(v):
    return repr(float(v))


def flat(a):
    if isinstance(a, torch.Tensor):
        return [float(v) for v in a.detach().to(torch.float64).reshape(-1).tolist()]
    return [float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def emit(fname, name, fields):
    """fields: list of (key, value); value is a str, an int, a float, or a sequence of numbers."""
    assert name not in _names, name
    _names.add(name)
    lines = _files.setdefault(fname, [])
    lines.append("case " + name)
    for key, val in fields:
        if val is None:
            continue
        if isinstance(val, str):
            lines.append(key + " " + val)
        elif isinstance(val, int):
            lines.append(key + " " + str(val))
        elif isinstance(val, float):
            lines.append(key + " " + num(val))
        elif key == "targets_index":
            lines.append(" ".join([key] + [str(int(v)) for v in val]))
        else:
            lines.append(" ".join([key] + [num(v) for v in flat(val)]))
    lines.append("end")


def tens(a, dtype):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=DTYPES[dtype])


def randn(*shape, scale=1.0):
    return RNG.standard_normal(shape) * scale


def grad_of(out, x, g=None):
    (gx,) = torch.autograd.grad(out, x, g, allow_unused=False)
    return gx


def reduced_and_grads(fn, x0, gshape):
    """Runs fn(x, reduction) for none/mean/sum and returns the loss values and gradients."""
    res = {}
    x = x0.clone().requires_grad_()
    ln = fn(x, "none")
    g = tens(randn(*gshape), "float64").to(x0.dtype)
    if g.numel() > 0:
        g.view(-1)[0] = 0.0  # an upstream gradient of exactly 0 is a case too
    res["loss_none"] = ln
    res["grad_outputs"] = g
    res["grad_none"] = grad_of(ln, x, g)
    for red in ("mean", "sum"):
        x = x0.clone().requires_grad_()
        l = fn(x, red)
        res["loss_" + red] = float(l)
        res["grad_" + red] = grad_of(l, x)
    return res


def loss_fields(r):
    return [
        ("loss_none", r["loss_none"]),
        ("loss_mean", r["loss_mean"]),
        ("loss_sum", r["loss_sum"]),
        ("grad_mean", r["grad_mean"]),
        ("grad_sum", r["grad_sum"]),
        ("grad_outputs", r["grad_outputs"]),
        ("grad_none", r["grad_none"]),
    ]


def differs(reasons):
    return [("xent_differs", r) for r in (reasons or [])]


# ------------------------------------------------------------------------------------------------ cross_entropy
def ce_index(name, dtype, x, y, weight=None, ii=-100, eps=0.0, why=None, fname="cross_entropy.txt"):
    x0 = tens(x, dtype)
    N, C = x0.shape
    yt = torch.tensor(np.asarray(y, dtype=np.int64).reshape(-1), dtype=torch.int64)
    assert yt.numel() == N
    wt = None if weight is None else tens(weight, dtype)

    def fn(xx, red):
        return F.cross_entropy(xx, yt, weight=wt, ignore_index=ii, reduction=red, label_smoothing=eps)

    r = reduced_and_grads(fn, x0, (N,))
    emit(fname, name, [
        ("op", "cross_entropy"), ("dtype", dtype), ("shape", "%d %d" % (N, C)),
        ("logits", x0), ("targets_index", yt.tolist()), ("weight", wt),
        ("ignore_index", int(ii)), ("label_smoothing", float(eps)),
    ] + loss_fields(r) + differs(why))


def ce_prob(name, dtype, x, t, weight=None, eps=0.0, why=None, fname="cross_entropy_prob.txt"):
    x0 = tens(x, dtype)
    N, C = x0.shape
    tt = tens(t, dtype).reshape(N, C)
    wt = None if weight is None else tens(weight, dtype)

    def fn(xx, red):
        return F.cross_entropy(xx, tt, weight=wt, reduction=red, label_smoothing=eps)

    r = reduced_and_grads(fn, x0, (N,))
    emit(fname, name, [
        ("op", "cross_entropy"), ("dtype", dtype), ("shape", "%d %d" % (N, C)),
        ("logits", x0), ("targets_prob", tt), ("weight", wt),
        ("ignore_index", -100), ("label_smoothing", float(eps)),
    ] + loss_fields(r) + differs(why))


def nll(name, dtype, x, y, weight=None, ii=-100, why=None):
    x0 = tens(x, dtype)
    N, C = x0.shape
    yt = torch.tensor(np.asarray(y, dtype=np.int64).reshape(-1), dtype=torch.int64)
    wt = None if weight is None else tens(weight, dtype)

    def fn(xx, red):
        return F.nll_loss(xx, yt, weight=wt, ignore_index=ii, reduction=red)

    r = reduced_and_grads(fn, x0, (N,))
    emit("nll_loss.txt", name, [
        ("op", "nll_loss"), ("dtype", dtype), ("shape", "%d %d" % (N, C)),
        ("logits", x0), ("targets_index", yt.tolist()), ("weight", wt), ("ignore_index", int(ii)),
    ] + loss_fields(r) + differs(why))


def bce_weight_tensor(kind, w, dtype, N, C):
    if kind is None:
        return None
    wt = tens(w, dtype)
    if kind == "per_class":
        return wt.reshape(C)
    if kind == "per_sample":
        return wt.reshape(N, 1)
    assert kind == "elementwise"
    return wt.reshape(N, C)


def bce_logits(name, dtype, x, t, wkind=None, w=None, pos_weight=None, why=None):
    x0 = tens(x, dtype)
    N, C = x0.shape
    tt = tens(t, dtype).reshape(N, C)
    wt = bce_weight_tensor(wkind, w, dtype, N, C)
    pw = None if pos_weight is None else tens(pos_weight, dtype)

    def fn(xx, red):
        return F.binary_cross_entropy_with_logits(xx, tt, weight=wt, pos_weight=pw, reduction=red)

    r = reduced_and_grads(fn, x0, (N, C))
    emit("bce_with_logits.txt", name, [
        ("op", "bce_with_logits"), ("dtype", dtype), ("shape", "%d %d" % (N, C)),
        ("logits", x0), ("targets_prob", tt), ("weight", wt), ("weight_kind", wkind), ("pos_weight", pw),
    ] + loss_fields(r) + differs(why))


def bce(name, dtype, p, t, wkind=None, w=None, why=None):
    p0 = tens(p, dtype)
    N, C = p0.shape
    tt = tens(t, dtype).reshape(N, C)
    wt = bce_weight_tensor(wkind, w, dtype, N, C)

    def fn(xx, red):
        return F.binary_cross_entropy(xx, tt, weight=wt, reduction=red)

    r = reduced_and_grads(fn, p0, (N, C))
    emit("bce.txt", name, [
        ("op", "bce"), ("dtype", dtype), ("shape", "%d %d" % (N, C)),
        ("logits", p0), ("targets_prob", tt), ("weight", wt), ("weight_kind", wkind),
    ] + loss_fields(r) + differs(why))


def softmax_family(name, dtype, x):
    x0 = tens(x, dtype)
    N, C = x0.shape
    for op in ("log_softmax", "softmax", "logsumexp"):
        x = x0.clone().requires_grad_()
        if op == "log_softmax":
            y = F.log_softmax(x, 1)
        elif op == "softmax":
            y = F.softmax(x, 1)
        else:
            y = torch.logsumexp(x, 1)
        g = tens(randn(*y.shape), "float64").to(x0.dtype)
        gx = grad_of(y, x, g)
        emit("softmax.txt", "%s_%s" % (op, name), [
            ("op", op), ("dtype", dtype), ("shape", "%d %d" % (N, C)), ("logits", x0),
            ("output", y), ("grad_outputs", g), ("grad_none", gx),
        ])


# ------------------------------------------------------------------------------------------------ data helpers
def index_targets(N, C, ignore=(), n_ignored=0):
    y = RNG.integers(0, C, size=N)
    if n_ignored:
        pos = RNG.choice(N, size=n_ignored, replace=False)
        for k, p in enumerate(pos):
            y[p] = ignore[k % len(ignore)]
    return y


def soft_targets(N, C):
    a = RNG.random((N, C)) + 0.05
    return a / a.sum(axis=1, keepdims=True)


def onehot_targets(N, C):
    t = np.zeros((N, C))
    t[np.arange(N), RNG.integers(0, C, size=N)] = 1.0
    return t


def pos_weights(C):
    return RNG.uniform(0.2, 3.0, size=C)


def class_weights(C):
    return RNG.uniform(0.2, 2.0, size=C)


# ------------------------------------------------------------------------------------------------ the cases
def gen_cross_entropy():
    for dtype in DTYPES:
        # every option combination on a 7x5 problem (reductions: all three stored in each case)
        N, C = 7, 5
        for wname in ("noweight", "weight"):
            for iiname, ii in (("ii_default", -100), ("ii_class2", 2), ("ii_255", 255)):
                for eps in (0.0, 0.1, 1.0):
                    x = randn(N, C, scale=2.0)
                    y = RNG.integers(0, C, size=N)
                    # two targets equal the ignore_index (for ii=2 a valid class: random targets may add more)
                    y[1] = ii
                    y[4] = ii
                    w = class_weights(C) if wname == "weight" else None
                    ce_index("ce_%s_%s_%s_eps%g_%s" % (dtype, wname, iiname, eps, "7x5"), dtype, x, y, w, ii, eps)
        # shapes, no ignored targets
        for (N, C) in ((1, 1), (1, 5), (4, 1), (6, 2), (1, 2), (7, 5), (16, 33), (2, 130)):
            for wname in (("weight",) if C > 100 else ("noweight", "weight")):
                eps = 0.0 if wname == "noweight" else 0.1
                w = class_weights(C) if wname == "weight" else None
                ce_index("ce_%s_shape_%dx%d_%s_eps%g" % (dtype, N, C, wname, eps), dtype,
                         randn(N, C, scale=1.5), RNG.integers(0, C, size=N), w, -100, eps)
        # large logits: float32 precision of log_softmax matters
        ce_index("ce_%s_scale100" % dtype, dtype, randn(9, 6, scale=100.0), RNG.integers(0, 6, size=9))
        ce_index("ce_%s_scale100_weight_eps" % dtype, dtype, randn(9, 6, scale=100.0),
                 RNG.integers(0, 6, size=9), class_weights(6), -100, 0.2)
        # empty batch: mean NaN, sum 0
        ce_index("ce_%s_empty_0x5" % dtype, dtype, np.zeros((0, 5)), np.zeros(0))
        # all targets ignored: mean NaN, sum 0, every gradient 0
        x = randn(4, 3)
        ce_index("ce_%s_all_ignored" % dtype, dtype, x, [-100] * 4)
        ce_index("ce_%s_all_ignored_255_weight_eps" % dtype, dtype, x, [255] * 4, class_weights(3), 255, 0.1)
        # masked (-inf) classes that are not the target
        xm = randn(5, 5)
        xm[0, 2] = -INF
        xm[1, [0, 3]] = -INF
        xm[2, [1, 2, 3, 4]] = -INF   # only the target class left
        xm[3, 4] = -INF
        ym = [0, 1, 0, 3, 2]
        wm = class_weights(5)
        ce_index("ce_%s_masked_neginf" % dtype, dtype, xm, ym)
        ce_index("ce_%s_masked_neginf_weight" % dtype, dtype, xm, ym, wm)
        ce_index("ce_%s_masked_neginf_eps" % dtype, dtype, xm, ym, None, -100, 0.1)      # loss +inf
        ce_index("ce_%s_masked_neginf_weight_eps" % dtype, dtype, xm, ym, wm, -100, 0.1)
        wz = wm.copy()
        wz[4] = 0.0
        ce_index("ce_%s_masked_neginf_weight0_eps" % dtype, dtype, xm, ym, wz, -100, 0.1)  # 0*inf: NaN
        # the target logit is -inf: loss +inf, gradient finite
        xt = randn(3, 3)
        xt[1, 0] = -INF
        ce_index("ce_%s_target_neginf" % dtype, dtype, xt, [2, 0, 1])
        ce_index("ce_%s_target_neginf_eps" % dtype, dtype, xt, [2, 0, 1], None, -100, 0.1)
        # huge and big-but-close logits
        ce_index("ce_%s_huge_1e30" % dtype, dtype, [[1e30, 0.0, -1e30]], [1])
        ce_index("ce_%s_huge_rows" % dtype, dtype,
                 [[1e30, 0.0, -1e30], [-1e38, 0.0, 1.0], [3e38, 3e38, 3e38], [1.0, 2.0, 3.0]], [1, 0, 2, 0])
        ce_index("ce_%s_huge_rows_eps" % dtype, dtype,
                 [[1e30, 0.0, -1e30], [-1e38, 0.0, 1.0], [3e38, 3e38, 3e38], [1.0, 2.0, 3.0]], [1, 0, 2, 0],
                 None, -100, 0.1)
        ce_index("ce_%s_close_1e8" % dtype, dtype, [[1e8, 1e8 + 8, 1e8 - 8]] * 3, [0, 1, 2])
        # weights summing to 0 over the used targets
        xw = randn(4, 3)
        ce_index("ce_%s_weight_zero_on_targets" % dtype, dtype, xw, [0, 1, 0, 1], [0.0, 0.0, 1.5])  # mean 0/0
        ce_index("ce_%s_weight_sum_zero" % dtype, dtype, xw, [0, 1, 0, 1], [1.0, -1.0, 0.5])      # mean x/0
        ce_index("ce_%s_weight_sum_zero_eps" % dtype, dtype, xw, [0, 1, 0, 1], [1.0, -1.0, 0.5], -100, 0.1)
        ce_index("ce_%s_negative_weights" % dtype, dtype, randn(6, 4), RNG.integers(0, 4, size=6),
                 [0.5, -1.25, 2.0, -0.3])
        ce_index("ce_%s_negative_weights_eps_ignore" % dtype, dtype, randn(6, 4), [0, 1, -100, 2, 3, 1],
                 [0.5, -1.25, 2.0, -0.3], -100, 0.3)
        # non-finite rows that are ignored: PyTorch's gradient row is NaN there, xent's is exactly 0
        xn = randn(6, 4)
        xn[0, 1] = NAN
        xn[2, :] = [1.0, INF, 0.0, -2.0]
        xn[4, :] = -INF
        yn = [-100, 1, -100, 3, -100, 0]
        ce_index("ce_%s_ignored_nonfinite_rows" % dtype, dtype, xn, yn, why=["ignored_row_grad_zero"])
        ce_index("ce_%s_ignored_nonfinite_rows_weight_eps" % dtype, dtype, xn, yn, class_weights(4), -100, 0.1,
                 why=["ignored_row_grad_zero"])
        yn7 = [7, 1, 7, 3, 7, 0]
        ce_index("ce_%s_ignored_nonfinite_rows_ii7" % dtype, dtype, xn, yn7, None, 7, 0.0,
                 why=["ignored_row_grad_zero"])
        # non-finite rows that are NOT ignored: NaN loss and NaN gradient row
        xq = randn(4, 3)
        xq[1, 2] = NAN
        xq[3, 0] = INF
        ce_index("ce_%s_nonfinite_rows" % dtype, dtype, xq, [0, 0, 1, 2])
        # negative label smoothing: PyTorch silently uses 0, xent throws
        ce_index("ce_%s_eps_negative" % dtype, dtype, randn(3, 4), [0, 3, 1], None, -100, -0.1,
                 why=["label_smoothing_negative"])


def gen_cross_entropy_prob():
    for dtype in DTYPES:
        N, C = 7, 5
        for tname in ("soft", "onehot"):
            for wname in ("noweight", "weight"):
                for eps in (0.0, 0.1):
                    t = soft_targets(N, C) if tname == "soft" else onehot_targets(N, C)
                    w = class_weights(C) if wname == "weight" else None
                    ce_prob("cep_%s_%s_%s_eps%g" % (dtype, tname, wname, eps), dtype, randn(N, C, scale=2.0), t, w,
                            eps)
        for (N, C) in ((1, 1), (1, 5), (4, 1), (6, 2), (8, 17)):
            ce_prob("cep_%s_shape_%dx%d" % (dtype, N, C), dtype, randn(N, C), soft_targets(N, C))
        ce_prob("cep_%s_shape_16x33_weight_eps" % dtype, dtype, randn(16, 33), soft_targets(16, 33),
                class_weights(33), 0.25)
        ce_prob("cep_%s_empty_0x5" % dtype, dtype, np.zeros((0, 5)), np.zeros((0, 5)))
        ce_prob("cep_%s_eps1" % dtype, dtype, randn(3, 4), soft_targets(3, 4), None, 1.0)
        # targets that are not distributions: used as given
        ce_prob("cep_%s_unnormalized" % dtype, dtype, randn(3, 4),
                [[2.0, 0, 0, 0], [-1.0, 0, 0, 0], [0.5, 0.5, 0.5, -0.25]])
        ce_prob("cep_%s_scale100_weight" % dtype, dtype, randn(5, 6, scale=100.0), soft_targets(5, 6),
                class_weights(6))
        # masked classes with target probability 0. eps=0: PyTorch NaN (0*-inf), xent 0 contribution.
        xm = randn(4, 4)
        xm[0, 3] = -INF
        xm[1, [0, 2]] = -INF
        xm[3, 1] = -INF
        tm = np.array([[0.3, 0.7, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [0.5, 0.0, 0.1, 0.4]])
        wm = class_weights(4)
        ce_prob("cep_%s_masked_zero_target" % dtype, dtype, xm, tm, why=["zero_prob_target_masked"])
        ce_prob("cep_%s_masked_zero_target_weight" % dtype, dtype, xm, tm, wm, why=["zero_prob_target_masked"])
        # eps > 0: the smoothed target is > 0 on the masked class: loss +inf in both
        ce_prob("cep_%s_masked_zero_target_eps" % dtype, dtype, xm, tm, None, 0.1)
        ce_prob("cep_%s_masked_zero_target_weight_eps" % dtype, dtype, xm, tm, wm, 0.1)
        # a masked class with a nonzero target: +inf loss
        tb = tm.copy()
        tb[0] = [0.3, 0.5, 0.0, 0.2]
        ce_prob("cep_%s_masked_nonzero_target" % dtype, dtype, xm, tb, why=["zero_prob_target_masked"])
        ce_prob("cep_%s_huge_rows" % dtype, dtype, [[1e30, 0.0, -1e30], [3e38, 3e38, 3e38], [1e8, 1e8 + 8, 1e8 - 8]],
                [[0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
        ce_prob("cep_%s_negative_weights" % dtype, dtype, randn(5, 3), soft_targets(5, 3), [1.0, -0.5, 2.0])
        xq = randn(3, 3)
        xq[1, 1] = NAN
        ce_prob("cep_%s_nan_row" % dtype, dtype, xq, soft_targets(3, 3))


def gen_nll():
    for dtype in DTYPES:
        N, C = 7, 5
        for wname in ("noweight", "weight"):
            for iiname, ii in (("ii_default", -100), ("ii_class2", 2), ("ii_255", 255)):
                lp = torch.log_softmax(torch.tensor(randn(N, C, scale=2.0)), 1).numpy()
                y = RNG.integers(0, C, size=N)
                y[2] = ii
                y[5] = ii
                w = class_weights(C) if wname == "weight" else None
                nll("nll_%s_%s_%s" % (dtype, wname, iiname), dtype, lp, y, w, ii)
        for (N, C) in ((1, 1), (1, 4), (6, 2), (16, 33)):
            nll("nll_%s_shape_%dx%d" % (dtype, N, C), dtype, randn(N, C), RNG.integers(0, C, size=N))
        nll("nll_%s_empty_0x5" % dtype, dtype, np.zeros((0, 5)), np.zeros(0))
        nll("nll_%s_all_ignored" % dtype, dtype, randn(3, 4), [-100] * 3, class_weights(4))
        xq = randn(4, 3)
        xq[0, 1] = NAN      # not the target: no effect
        xq[2, 0] = -INF     # target log-prob -inf: loss +inf
        xq[3, 2] = INF      # not the target
        nll("nll_%s_nonfinite_inputs" % dtype, dtype, xq, [0, 2, 0, 1])
        nll("nll_%s_weight_zero_on_targets" % dtype, dtype, randn(4, 3), [0, 1, 0, 1], [0.0, 0.0, 1.5])
        nll("nll_%s_weight_sum_zero" % dtype, dtype, randn(4, 3), [0, 1, 0, 1], [1.0, -1.0, 0.5])
        nll("nll_%s_negative_weights" % dtype, dtype, randn(6, 4), [0, 1, 3, 2, -100, 1], [0.5, -1.25, 2.0, -0.3])


def gen_bce_with_logits():
    for dtype in DTYPES:
        N, C = 7, 5
        for wkind in (None, "per_class", "per_sample", "elementwise"):
            for pw in (False, True):
                x = randn(N, C, scale=3.0)
                t = RNG.random((N, C))
                t[0, :] = [0.0, 1.0, 0.0, 1.0, 0.5]
                w = None
                if wkind == "per_class":
                    w = class_weights(C)
                elif wkind == "per_sample":
                    w = class_weights(N)
                elif wkind == "elementwise":
                    w = RNG.uniform(0.0, 2.0, size=(N, C))
                bce_logits("bcel_%s_%s_%s" % (dtype, wkind or "noweight", "posweight" if pw else "noposweight"),
                           dtype, x, t, wkind, w, pos_weights(C) if pw else None)
        for (N, C) in ((1, 1), (1, 3), (5, 1), (8, 17)):
            bce_logits("bcel_%s_shape_%dx%d" % (dtype, N, C), dtype, randn(N, C, scale=2.0), RNG.random((N, C)))
        bce_logits("bcel_%s_empty_0x5" % dtype, dtype, np.zeros((0, 5)), np.zeros((0, 5)))
        bce_logits("bcel_%s_negative_weights" % dtype, dtype, randn(3, 4), RNG.random((3, 4)), "per_class",
                   [1.0, -2.0, 0.0, 0.5], [0.5, 1.0, -1.0, 2.0])
        # tails and infinities: rows x, column 0 target 0, column 1 target 1
        xs = [-INF, -100.0, -40.0, -30.0, -20.0, -17.0, -10.0, -5.0, 0.0, 5.0, 10.0, 17.0, 20.0, 30.0, 40.0, 100.0,
              INF]
        xt = np.array([[v, v] for v in xs])
        tt = np.array([[0.0, 1.0] for _ in xs])
        bce_logits("bcel_%s_tails" % dtype, dtype, xt, tt, why=["bce_logits_tails"])
        bce_logits("bcel_%s_tails_posweight_weight" % dtype, dtype, xt, tt, "per_class", [0.5, 2.0], [3.0, 0.25],
                   why=["bce_logits_tails"])
        # finite tails with a soft target (no infinities: the limit there is not documented)
        xf = np.array([[v] * 3 for v in xs[1:-1]])
        tf = np.array([[0.25, 0.5, 0.9] for _ in xs[1:-1]])
        bce_logits("bcel_%s_tails_soft" % dtype, dtype, xf, tf, why=["bce_logits_tails"])
        xq = randn(2, 3)
        xq[0, 1] = NAN
        bce_logits("bcel_%s_nan_logit" % dtype, dtype, xq, RNG.random((2, 3)))


def gen_bce():
    for dtype in DTYPES:
        N, C = 7, 5
        for wkind in (None, "per_class", "per_sample", "elementwise"):
            p = RNG.uniform(0.01, 0.99, size=(N, C))
            t = RNG.random((N, C))
            # probabilities 0 and 1 (log clamped at -100, gradient denominator clamped at 1e-12)
            p[0, :] = [0.0, 0.0, 1.0, 1.0, 0.0]
            t[0, :] = [0.0, 1.0, 0.0, 1.0, 0.5]
            p[1, :] = [1.0, 1.0, 0.5, 1e-30, 1.0 - 2.0 ** -20]
            t[1, :] = [0.5, 1.0, 1.0, 1.0, 0.0]
            w = None
            if wkind == "per_class":
                w = class_weights(C)
            elif wkind == "per_sample":
                w = class_weights(N)
            elif wkind == "elementwise":
                w = RNG.uniform(0.0, 2.0, size=(N, C))
            bce("bce_%s_%s" % (dtype, wkind or "noweight"), dtype, p, t, wkind, w)
        for (N, C) in ((1, 1), (5, 1), (8, 17)):
            bce("bce_%s_shape_%dx%d" % (dtype, N, C), dtype, RNG.uniform(0.001, 0.999, size=(N, C)),
                RNG.random((N, C)))
        bce("bce_%s_empty_0x5" % dtype, dtype, np.zeros((0, 5)), np.zeros((0, 5)))
        bce("bce_%s_onehot_targets" % dtype, dtype, RNG.uniform(0.0, 1.0, size=(4, 3)), onehot_targets(4, 3))


def gen_softmax():
    for dtype in DTYPES:
        for (N, C) in ((1, 1), (3, 1), (2, 2), (7, 5), (16, 33), (2, 130)):
            softmax_family("%s_%dx%d" % (dtype, N, C), dtype, randn(N, C, scale=2.0))
        softmax_family("%s_scale100" % dtype, dtype, randn(5, 7, scale=100.0))
        softmax_family("%s_empty_0x4" % dtype, dtype, np.zeros((0, 4)))
        softmax_family("%s_special_rows" % dtype, dtype, [
            [1.0, 2.0, -INF],
            [-INF, -INF, -INF],
            [INF, 0.0, 1.0],
            [INF, INF, 0.0],
            [NAN, 1.0, 2.0],
            [1e30, 0.0, -1e30],
            [-1e38, 0.0, 1.0],
            [3e38, 3e38, 3e38],
            [1e8, 1e8 + 8, 1e8 - 8],
            [-INF, 5.0, -INF],
            [0.0, 0.0, 0.0],
        ])


def main():
    gen_cross_entropy()
    gen_cross_entropy_prob()
    gen_nll()
    gen_bce_with_logits()
    gen_bce()
    gen_softmax()
    header = ("# xent golden fixtures: generated by tests/golden/generate.py from PyTorch %s (do not edit).\n"
              "# Format: see tests/golden/README.md.\n" % torch.__version__)
    names = sorted(_files)
    for fname in names:
        with open(os.path.join(OUT_DIR, fname), "w") as f:
            f.write(header)
            f.write("\n".join(_files[fname]))
            f.write("\n")
    with open(os.path.join(OUT_DIR, "MANIFEST"), "w") as f:
        f.write("\n".join(names) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT_DIR, n)) for n in names)
    print("wrote %d cases in %d files (%d bytes) to %s" % (len(_names), len(names), total, OUT_DIR))


if __name__ == "__main__":
    sys.exit(main())
