#!/usr/bin/python3
"""Turn xent_bench's Google Benchmark JSON into a markdown summary and a PNG chart.

    benchmarks/report.py results.json [OUTDIR]      (OUTDIR defaults to benchmarks/results)

writes OUTDIR/README.md (tables of elements/s and ratios: xent / PyTorch, xent / naive Eigen,
xent / the roof the function is bound by, the issue's targets, thread scaling, cold caches) and
OUTDIR/chart.png; with oneDNN / XNNPACK cases (the softmax family's other peers), a table of them
and OUTDIR/chart-peers.png. --name NAME writes NAME.md, NAME.png, NAME-peers.png instead.
Needs only the standard library and Debian's python3-matplotlib.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys

SHAPES = [(8192, 10), (4096, 1000), (512, 32000), (64, 128000), (16384, 4096)]
# kExtraShapes in bench_main.cpp: binary, short rows (33 to 257 classes), a GPT-2-sized
# vocabulary, and one sample of it (column-major: a lone sample).
EXTRA_SHAPES = [(65536, 2), (16384, 33), (16384, 64), (8192, 100), (8192, 128), (4096, 200),
                (2048, 257), (256, 50257), (1, 50257)]
EXTRA_FUNCTIONS = ["cross_entropy", "cross_entropy_fwd_bwd", "log_softmax"]
LARGEST = (16384, 4096)
IMPLS = ["xent", "reference", "naive", "torch", "onednn", "xnnpack"]
# Optional peers of the softmax family (bench_onednn.cpp, bench_xnnpack.cpp): row-major, 1 thread.
PEERS = ["torch", "onednn", "xnnpack"]
PEER_NAMES = {"torch": "libtorch", "onednn": "oneDNN", "xnnpack": "XNNPACK"}
PEER_FUNCTIONS = ["softmax", "log_softmax", "log_softmax_bwd"]
ORDERS = ["row_major", "col_major"]

# function -> (description, roof it is bound by). exp: one exp per element dominates (cross-entropy,
# softmax family). write: nll_loss forward+backward reads N values but writes the N x C gradient.
# read: binary cross-entropy with logits streams two N x C inputs (and writes one).
FUNCTIONS = {
    "cross_entropy": ("cross_entropy forward, index targets", "exp"),
    "cross_entropy_fwd_bwd": ("cross_entropy fused forward+backward, index targets", "exp"),
    "cross_entropy_prob_fwd_bwd": ("cross_entropy forward+backward, probability targets", "exp"),
    "log_softmax": ("log_softmax", "exp"),
    "softmax": ("softmax", "exp"),
    "logsumexp": ("logsumexp", "exp"),
    "nll_loss_fwd_bwd": ("nll_loss forward+backward", "write"),
    "bce_with_logits_fwd_bwd": ("binary_cross_entropy_with_logits forward+backward", "read"),
    "log_softmax_bwd": ("log_softmax_backward", "exp"),
    "cross_entropy_in_place": ("cross_entropy fused forward+backward, gradient over the logits", "exp"),
}
# Functions only xent has: compared with the other implementations' version of this function.
COMPARED_WITH = {"cross_entropy_in_place": "cross_entropy_fwd_bwd"}

CASE_RE = re.compile(
    r"^(?P<fn>[a-z_]+)/(?P<impl>[a-z]+)/(?P<order>row_major|col_major)/N:(?P<n>\d+)/C:(?P<c>\d+)"
    r"/threads:(?P<t>\d+)/(?P<cache>warm|cold)")
ROOF_RE = re.compile(r"^roof/(?P<kind>read|write|exp)/threads:(?P<t>\d+)")


def load(path):
    with open(path) as f:
        doc = json.load(f)
    samples = {}  # key -> [items/s]
    labels = {}  # key -> the benchmark's label (oneDNN: the implementation it dispatched to)
    busy = []  # cpu_time / real_time of the single-threaded cases: < 1 when the core was shared
    for b in doc.get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        rate = b.get("items_per_second")
        if rate is None:
            continue
        name = b.get("run_name", b["name"])
        m = CASE_RE.match(name)
        if m:
            key = (m["fn"], m["impl"], m["order"], int(m["n"]), int(m["c"]), int(m["t"]), m["cache"])
            if b.get("label"):
                labels[key] = b["label"]
            if "max_rel_err" in b:  # the peers' check against xent's output
                labels[key + ("max_rel_err",)] = b["max_rel_err"]
            # Manually timed cases (cross_entropy_in_place) spend CPU time outside the timed calls.
            if key[5] == 1 and b.get("real_time") and not name.endswith("/manual_time"):
                busy.append(b["cpu_time"] / b["real_time"])
        else:
            m = ROOF_RE.match(name)
            if not m:
                continue
            key = ("roof", m["kind"], int(m["t"]))
        samples.setdefault(key, []).append(rate)
    rates = {k: statistics.median(v) for k, v in samples.items()}
    context = dict(doc.get("context", {}))
    if busy:
        context["cpu_share"] = statistics.median(busy)
    context["labels"] = labels
    return context, rates


def g(x):
    """elements/s -> 'Gelem/s' text."""
    if x is None:
        return "—"
    v = x / 1e9
    return f"{v:.3g}" if v >= 0.01 else f"{v:.2g}"


def ratio(a, b, suffix="×"):
    if a is None or b is None or b == 0:
        return "—"
    r = a / b
    return f"{r:.2f}{suffix}" if r < 10 else f"{r:.1f}{suffix}"


def lscpu():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    info = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
    return info


def dpkg_version(package):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def header(ctx, args):
    cpu = lscpu()
    torch_deb = dpkg_version("libtorch-dev")
    model = cpu.get("Model name", ctx.get("cpu_model", "unknown"))
    cores = cpu.get("CPU(s)", ctx.get("num_cpus", "?"))
    kinds = {"Data": "d", "Instruction": "i"}
    caches = ", ".join(f"L{c['level']}{kinds.get(c['type'], '')} {c['size'] // 1024} KiB"
                       for c in ctx.get("caches", []))
    flags = " ".join(cpu.get("Flags", "").split())
    isa = ", ".join(f for f in ("avx512f", "avx512bw", "avx512vl", "avx2", "fma") if f" {f} " in f" {flags} ")
    lines = [
        "# xent benchmark results",
        "",
        f"- **Machine**: {model}, {cores} CPUs ({ctx.get('mhz_per_cpu', '?')} MHz as seen by Google"
        f" Benchmark; {isa or 'ISA unknown'}); caches per Google Benchmark: {caches or 'unknown'};"
        f" load average at start {', '.join(f'{x:.2f}' for x in ctx.get('load_avg', [])) or '?'}"
        " (shared machine: 10–15 % noise run to run, ratios are from one run)"
        + (f"; median CPU time / wall time of the 1-thread cases {ctx['cpu_share']:.2f}"
           " (1.00 = the benchmark had its core to itself)" if "cpu_share" in ctx else "") + ".",
        f"- **Compiler**: GCC {ctx.get('compiler', '?')}; flags `{ctx.get('cxx_flags', '?')}`;"
        f" Eigen {ctx.get('eigen_version', '?')} SIMD: {ctx.get('eigen_simd', '?')};"
        f" OpenMP: {ctx.get('openmp', '?')}.",
        f"- **xent**: commit `{ctx.get('xent_git', '?')}` (`-dirty`: uncommitted changes in the"
        " tree, as of configuring the build).",
        f"- **PyTorch**: libtorch {ctx.get('torch_version', '?')}"
        + (f" (Debian's libtorch-dev {torch_deb})" if torch_deb else "")
        + ", same thread count (`torch::set_num_threads`); allocator: "
        + ctx.get("malloc", "glibc defaults (not recorded)") + ".",
        *peer_lines(ctx),
        f"- **Date**: {ctx.get('date', '?')}; generated by `benchmarks/report.py` from"
        f" `{os.path.basename(args.json)}`.",
        "",
    ]
    return lines


def peer_lines(ctx):
    """oneDNN's and XNNPACK's versions, when the run has them."""
    lines = []
    if not ctx.get("onednn_version", "not built").startswith("not built"):
        lines.append(f"- **oneDNN**: {ctx['onednn_version']}"
                     + (f" (Debian's libdnnl-dev {v})" if (v := dpkg_version("libdnnl-dev")) else "")
                     + ", `softmax_v2` primitives created once per benchmark; 1 thread.")
    if ctx.get("xnnpack", "not built").startswith("built"):
        v = dpkg_version("libxnnpack-dev")
        lines.append(f"- **XNNPACK**: Debian's libxnnpack-dev {v or '(version unknown)'},"
                     " `softmax_nc_f32`, no thread pool (1 thread).")
    return lines


def malloc_text(ctx):
    if "no mmap" in ctx.get("malloc", ""):
        return ("glibc malloc is set to serve every allocation from a heap it never trims"
                " (`mallopt(M_MMAP_MAX, 0)`, `M_TRIM_THRESHOLD` max), so code that allocates per"
                " call (torch's temporaries, `xent::reference`) reuses memory instead of"
                " page-faulting fresh pages on every call: torch's best case, 1.5–3× faster on the"
                " large shapes than with glibc's defaults (`XENT_BENCH_MALLOC=default`), under"
                " which torch's rates also swing up to 3× between runs with the heap's history.")
    return ("**glibc malloc with its defaults**: allocations above its mmap threshold (at most 32"
            " MiB) are fresh, page-faulting memory on every call or reused heap memory, depending"
            " on the heap's history, so torch's rates (which allocate N×C temporaries per call) on"
            " the large shapes swing up to 3× between runs; the current suite runs with a reused"
            " heap instead (torch's best case).")


def describe(ctx):
    return [
        "Reproduce (Release, `-march=native`, Debian 12 with `libbenchmark-dev`, `libeigen3-dev`,"
        " optionally `libtorch-dev`, `libdnnl-dev`, `libxnnpack-dev` + `libpthreadpool-dev` and"
        " `python3-matplotlib`):",
        "",
        "```sh",
        "benchmarks/run.sh        # = the four commands below",
        "cmake -S benchmarks -B build/bench -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-march=native",
        "cmake --build build/bench --target xent_bench -j",
        "build/bench/xent_bench --benchmark_min_time=0.1 --benchmark_out=benchmarks/results/results.json"
        " --benchmark_out_format=json",
        "benchmarks/report.py benchmarks/results/results.json benchmarks/results",
        "```",
        "",
        "A quick subset: `build/bench/xent_bench --benchmark_filter='^cross_entropy/.*/row_major/N:4096/'`.",
        "",
        "**What is measured.** Float logits, N×C with a sample per row (`Layout::SamplesInRows`),"
        " stored row-major or column-major; mean reduction; numbers are **Gelem/s = N·C logits per"
        " second** (wall time), higher is better. *xent*: the public API into preallocated outputs"
        " (`cross_entropy`, `cross_entropy_forward_backward`, `log_softmax(x, out)`, …). *reference*:"
        " `xent::reference` in float (loss and backward called separately; it allocates; not run on"
        " the largest shape, where one call takes seconds). *naive*: the Eigen expressions a user writes"
        " by hand (`(X.colwise() - m).array().exp().rowwise().sum()` …) into the same preallocated"
        " outputs; single-threaded, measured at 1 thread only (the 2-thread tables divide by the"
        " 1-thread naive figure). *torch*: libtorch on the same memory (`from_blob`, strides (1, N)"
        " for column-major); forward-only functions use the `*_out` ops into preallocated outputs,"
        " forward+backward uses autograd (`requires_grad` logits, `torch::autograd::grad`, which"
        " returns the gradient: no zeroing of `x.grad` and no accumulation into it, which"
        " `loss.backward()` would add). " + malloc_text(ctx) +
        " *fwd_bwd* = loss and gradient of the mean loss. *log_softmax_bwd*: `log_softmax_backward`"
        " into a preallocated output (torch: `_log_softmax_backward_data_out`). *cross_entropy_in_place*:"
        " xent's fused call that overwrites the logits with their gradient (no second N×C buffer),"
        " on fresh logits every call (copied back after each call, outside the timed region);"
        " its reference / naive / torch columns are those of *cross_entropy_fwd_bwd*. *warm*: the same buffers every iteration;"
        " *cold* (largest shape only): buffers rotated over more than 300 MiB. Warm data of the"
        " smaller shapes stays in L2/L3, so a warm rate may exceed a DRAM roof (xent/roof > 1).",
        "",
        "**Roofs** (same run): *exp* = a vector exp over an L1-resident buffer per thread"
        " (the bound of the exp-per-element functions: cross-entropy, the softmax family);"
        " *read* = streaming sum of 512 MiB (the bound used for binary cross-entropy with logits);"
        " *write* = `memset` to zero of 512 MiB (nll_loss forward+backward, which reads N values and"
        " writes N·C, zero but for N entries; zero stores are about 2× faster than other stores on"
        " this machine). xent/roof is xent's rate over the roof's rate at the same thread count;"
        " xent/read roof is given for every function, since data beyond the 32 MiB L3 also"
        " bounds the exp-per-element functions by DRAM bandwidth.",
        "",
    ]


def rate(rates, fn, impl, order, shape, t, cache="warm"):
    if impl != "xent":
        fn = COMPARED_WITH.get(fn, fn)
    return rates.get((fn, impl, order, shape[0], shape[1], t, cache))


def roof(rates, kind, t):
    return rates.get(("roof", kind, t))


def second_core_warning(rates):
    """2-thread figures need the second core idle: the exp roof (L1, no shared resource) shows it."""
    one, two = roof(rates, "exp", 1), roof(rates, "exp", 2)
    if one and two and two / one < 1.6:
        return ["> **The second core was busy during this run** (exp roof: 2 threads"
                f" {two / one:.2f}× 1 thread, ideally 2×): every parallel region waited for a"
                " time slice, so the 2-thread figures below measure the machine's other load, not"
                " xent or PyTorch. The 1-thread figures are unaffected when the CPU share above is"
                " near 1.", ""]
    return []


def extra_peers(rates):
    """The softmax-family peers present in this run (libtorch has its own columns)."""
    return [p for p in PEERS[1:] if any(k[0] != "roof" and k[1] == p for k in rates)]


def main_tables(rates, threads_list):
    out = []
    for t in threads_list:
        for order in ORDERS:
            if not any(k[0] != "roof" and k[2] == order and k[5] == t for k in rates):
                continue
            peers = [p for p in extra_peers(rates)  # row-major, 1 thread: columns there only
                     if any(k[1] == p and k[2] == order and k[5] == t for k in rates)]
            out += [f"## {t} thread{'s' if t > 1 else ''}, {order.replace('_', '-')} N×C (warm)", ""]
            if t > 1:
                out += second_core_warning(rates)
            naive_note = " (1 thread)" if t > 1 else ""
            pcols = "".join(f" {p} |" for p in peers) + "".join(f" xent / {p} |" for p in peers)
            out += [f"| function | N × C | xent | reference | naive{naive_note} | torch |{pcols} xent / torch |"
                    f" xent / naive | xent / roof | xent / read roof |",
                    "|---|---|" + "---:|" * (8 + 2 * len(peers))]
            for fn, (desc, rkind) in FUNCTIONS.items():
                first = True
                for shape in SHAPES:
                    x = rate(rates, fn, "xent", order, shape, t)
                    ref = rate(rates, fn, "reference", order, shape, 1)
                    nv = rate(rates, fn, "naive", order, shape, 1)
                    th = rate(rates, fn, "torch", order, shape, t)
                    if x is None and th is None:
                        continue
                    rf = roof(rates, rkind, t)
                    label = f"`{fn}`" if first else ""
                    first = False
                    pr = [rate(rates, fn, p, order, shape, t) for p in peers]
                    pcells = "".join(f" {g(v)} |" for v in pr) + "".join(f" {ratio(x, v)} |" for v in pr)
                    out.append(f"| {label} | {shape[0]} × {shape[1]} | {g(x)} | {g(ref)} | {g(nv)} |"
                               f" {g(th)} |{pcells} {ratio(x, th)} | {ratio(x, nv)} |"
                               f" {ratio(x, rf, '')} {rkind} | {ratio(x, roof(rates, 'read', t), '')} |")
            out.append("")
    return out


def cold_table(rates):
    rows = []
    for order in ORDERS:
        for t in (1, 2):
            for fn in FUNCTIONS:
                vals = [rate(rates, fn, impl, order, LARGEST, t if impl != "naive" else 1, cache)
                        for impl in ("xent", "torch", "naive") for cache in ("warm", "cold")]
                if all(v is None for v in vals):
                    continue
                xw, xc, tw, tc, nw, nc = vals
                rows.append(f"| `{fn}` | {order.replace('_', '-')} | {t} | {g(xw)} | {g(xc)} | {g(tw)} |"
                            f" {g(tc)} | {g(nc)} | {ratio(xc, tc)} | {ratio(xc, nc)} |")
    if not rows:
        return []
    return [f"## Warm vs cold caches, N × C = {LARGEST[0]} × {LARGEST[1]} (256 MiB of logits)", "",
            "Cold: every iteration reads a different copy of the inputs (and writes a different"
            " output), rotating over more than 300 MiB. The naive column is 1 thread.", "",
            "| function | storage | threads | xent warm | xent cold | torch warm | torch cold |"
            " naive cold | xent / torch (cold) | xent / naive (cold) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|", *rows, ""]


def roofs_table(rates):
    rows = []
    for kind, desc in (("exp", "vector exp, L1-resident buffer"),
                       ("read", "streaming read (sum) of 512 MiB"),
                       ("write", "memset to zero of 512 MiB")):
        r1, r2 = roof(rates, kind, 1), roof(rates, kind, 2)
        if r1 is None and r2 is None:
            continue
        rows.append(f"| {kind} | {desc} | {g(r1)} | {g(r2)} |")
    if not rows:
        return []
    return ["## Roofs (Gelem/s = Gfloat/s)", "", "| roof | what | 1 thread | 2 threads |",
            "|---|---|---:|---:|", *rows, ""]


def targets(rates):
    """The issue's targets (single thread, row-major, warm), each with its measured worst case."""
    out = ["## The issue's targets (1 thread, row-major, warm unless noted)", "",
           "| target | worst case measured | met |", "|---|---|---|"]

    def check(text, pairs, need):
        pairs = [(lbl, v) for lbl, v in pairs if v is not None]
        if not pairs:
            out.append(f"| {text} | not measured | — |")
            return
        lbl, worst = min(pairs, key=lambda p: p[1])
        out.append(f"| {text} | {worst:.2f} at {lbl} | {'yes' if worst >= need else '**no**'} |")

    def vs_torch(fn, t=1, order="row_major"):
        res = []
        for s in SHAPES:
            x, th = rate(rates, fn, "xent", order, s, t), rate(rates, fn, "torch", order, s, t)
            res.append((f"{s[0]}×{s[1]}", x / th if x and th else None))
        return res

    check("`cross_entropy` forward ≥ 3× libtorch, every shape", vs_torch("cross_entropy"), 3)
    exp1 = roof(rates, "exp", 1)
    check("`cross_entropy` forward ≥ 0.6 of the exp roof, C ≥ 1000",
          [(f"{s[0]}×{s[1]}", (rate(rates, "cross_entropy", "xent", "row_major", s, 1) or 0) / exp1
            if exp1 and rate(rates, "cross_entropy", "xent", "row_major", s, 1) else None)
           for s in SHAPES if s[1] >= 1000], 0.6)
    check("`cross_entropy` fused forward+backward ≥ 4× libtorch autograd",
          vs_torch("cross_entropy_fwd_bwd"), 4)
    check("`log_softmax` ≥ 3× libtorch", vs_torch("log_softmax"), 3)
    check("`binary_cross_entropy_with_logits` forward+backward ≥ 5× libtorch",
          vs_torch("bce_with_logits_fwd_bwd"), 5)
    pairs = []
    for fn in FUNCTIONS:
        for s in SHAPES:
            if s[1] > 1000:
                continue
            r = rate(rates, fn, "xent", "row_major", s, 1)
            c = rate(rates, fn, "xent", "col_major", s, 1)
            pairs.append((f"{fn} {s[0]}×{s[1]}", c / r if r and c else None))
    check("column-major ≥ 0.5× row-major throughput, C ≤ 1000 (every function)", pairs, 0.5)
    pairs = []
    for fn in FUNCTIONS:
        for s in SHAPES:
            if s[0] * s[1] < 16 * 2**20 * 0.95:  # 512×32000 (16.4 M) and 16384×4096 qualify
                continue
            one = rate(rates, fn, "xent", "row_major", s, 1)
            two = rate(rates, fn, "xent", "row_major", s, 2)
            pairs.append((f"{fn} {s[0]}×{s[1]}", two / one if one and two else None))
    check("2 threads ≥ 1.7× 1 thread where N·C ≥ 16 M (xent, row-major, every function)", pairs, 1.7)
    out.append("")
    return out if any("not measured" not in line for line in out[4:-1]) else []


def scaling_table(rates):
    rows = []
    for fn in FUNCTIONS:
        for s in SHAPES:
            if s[0] * s[1] < 4 * 2**20:
                continue
            cells = []
            for impl in ("xent", "torch"):
                for order in ORDERS:
                    one = rate(rates, fn, impl, order, s, 1)
                    two = rate(rates, fn, impl, order, s, 2)
                    cells.append(ratio(two, one))
            if all(cell == "—" for cell in cells):
                continue
            rows.append(f"| `{fn}` | {s[0]} × {s[1]} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return ["## Thread scaling (2 threads / 1 thread, warm, N·C ≥ 4 M)", "",
            "| function | N × C | xent row-major | xent col-major | torch row-major | torch col-major |",
            "|---|---|---:|---:|---:|---:|", *rows, ""]


def extra_shapes_table(rates):
    rows = []
    for fn in EXTRA_FUNCTIONS:
        for order in ORDERS:
            for s in EXTRA_SHAPES:
                x, th = rate(rates, fn, "xent", order, s, 1), rate(rates, fn, "torch", order, s, 1)
                if x is None:
                    continue
                rows.append(f"| `{fn}` | {order.replace('_', '-')} | {s[0]} × {s[1]} | {g(x)} | {g(th)} |"
                            f" {ratio(x, th)} |")
    if not rows:
        return []
    return ["## Beyond the issue's shapes (1 thread, warm)", "",
            "| function | storage | N × C | xent | torch | xent / torch |",
            "|---|---|---|---:|---:|---:|", *rows, ""]


def peers_table(rates, ctx):
    """xent against every softmax-family peer measured, at every shape measured (1 thread, row-major)."""
    peers = [p for p in PEERS if any(k[0] in PEER_FUNCTIONS and k[1] == p for k in rates)]
    if not any(p != "torch" for p in peers):
        return []
    labels = ctx.get("labels", {})
    checked = [p for p in peers if p != "torch"]  # outputs compared with xent's
    rows = []
    for fn in PEER_FUNCTIONS:
        keys = sorted({(k[3], k[4], k[6]) for k in rates
                       if k[0] == fn and k[1] in peers and k[2] == "row_major" and k[5] == 1},
                      key=lambda s: (s[2] == "cold", s[1], s[0]))
        first = True
        for n, c, cache in keys:
            x = rate(rates, fn, "xent", "row_major", (n, c), 1, cache)
            pr = [rate(rates, fn, p, "row_major", (n, c), 1, cache) for p in peers]
            impl = labels.get((fn, "onednn", "row_major", n, c, 1, cache), "")
            errs = [labels.get((fn, p, "row_major", n, c, 1, cache, "max_rel_err")) for p in checked]
            rows.append(f"| {f'`{fn}`' if first else ''} | {n} × {c}{' (cold)' if cache == 'cold' else ''} |"
                        f" {g(x)} |" + "".join(f" {g(v)} |" for v in pr)
                        + "".join(f" {ratio(x, v)} |" for v in pr)
                        + "".join(f" {e:.1e} |" if e is not None else " — |" for e in errs)
                        + (f" {impl} |" if "onednn" in peers else ""))
            first = False
    names = [PEER_NAMES[p] for p in peers]
    return ["## Softmax family against other libraries (1 thread, row-major, warm unless noted)", "",
            "Gelem/s, and xent's rate over each library's (> 1: xent is faster). oneDNN: `softmax_v2`"
            " (`softmax_accurate`, `softmax_log`, and the backward of `softmax_log` for"
            " log_softmax_bwd), primitive created once; its last column is the implementation it"
            " dispatched to (`ref:any` is its reference C++ code). XNNPACK: `softmax_nc_f32`"
            " (it has no log_softmax), no thread pool. Each of their outputs is checked once against"
            " xent's before it is timed (*error*: largest |peer − xent| / |xent|, for log-probabilities"
            " and gradients / max(|xent|, 1)); a case fails beyond 1e-5 or, beyond 168 classes,"
            " (C − 1)·2⁻²⁴, the worst-case error of a plain float sum of C terms.", "",
            "| function | N × C | xent |" + "".join(f" {nm} |" for nm in names)
            + "".join(f" xent / {nm} |" for nm in names)
            + "".join(f" {PEER_NAMES[p]} error |" for p in checked)
            + (" oneDNN impl |" if "onednn" in peers else ""),
            "|---|---|---:|" + "---:|" * (2 * len(peers) + len(checked)) + ("---|" if "onednn" in peers else ""),
            *rows, ""]


COLORS = {"xent": "#1f77b4", "torch": "#d62728", "naive": "#2ca02c", "reference": "#7f7f7f",
          "onednn": "#17becf", "xnnpack": "#e377c2"}  # not orange or purple: the roofs' colors


def peers_chart(rates, path, ctx):
    """The peers table as bars: one panel per function, every shape measured (1 thread, row-major)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    impls = ["xent", *[p for p in PEERS if any(k[0] in PEER_FUNCTIONS and k[1] == p for k in rates)]]
    fns = [fn for fn in PEER_FUNCTIONS
           if any(k[0] == fn and k[1] in PEERS[1:] and k[5] == 1 for k in rates)]
    fig, axes = plt.subplots(1, len(fns), figsize=(6 * len(fns), 5), sharey=True, squeeze=False)
    exp1 = roof(rates, "exp", 1)
    for ax, fn in zip(axes[0], fns):
        shapes = sorted({(k[3], k[4]) for k in rates if k[0] == fn and k[1] in PEERS[1:]
                         and k[2] == "row_major" and k[5] == 1 and k[6] == "warm"},
                        key=lambda s: (s[1], s[0]))
        width = 0.8 / len(impls)
        for ii, impl in enumerate(impls):
            xs, ys = [], []
            for si, s in enumerate(shapes):
                v = rate(rates, fn, impl, "row_major", s, 1)
                if v:
                    xs.append(si + (ii - (len(impls) - 1) / 2) * width)
                    ys.append(v / 1e9)
            ax.bar(xs, ys, width, color=COLORS[impl], label=PEER_NAMES.get(impl, impl))
        if exp1:
            ax.axhline(exp1 / 1e9, color="black", linestyle="--", linewidth=1.5, label="exp roof")
        ax.set_title(fn, fontsize=11)
        ax.set_xticks(range(len(shapes)))
        ax.set_xticklabels([f"{n}×{c}" for n, c in shapes], rotation=30, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("Gelem/s")
    axes[0][0].legend(fontsize=9)
    fig.suptitle(f"xent vs other libraries, softmax family — float, 1 thread, row-major, warm — "
                 f"{ctx.get('cpu_model', '')}, {ctx.get('cxx_flags', '')}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def chart(rates, path, ctx):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = COLORS
    impls = ["xent", "torch", *extra_peers(rates), "naive", "reference"]
    fns = list(FUNCTIONS)
    cols = (len(fns) + 1) // 2
    fig, axes = plt.subplots(4, cols, figsize=(5 * cols, 15), sharey=True)
    exp1, read1, write1 = roof(rates, "exp", 1), roof(rates, "read", 1), roof(rates, "write", 1)
    for oi, order in enumerate(ORDERS):
        for fi, fn in enumerate(fns):
            ax = axes[2 * oi + fi // cols][fi % cols]
            width = 0.8 / len(impls)
            for ii, impl in enumerate(impls):
                xs, ys = [], []
                for si, s in enumerate(SHAPES):
                    v = rate(rates, fn, impl, order, s, 1)
                    if v:
                        xs.append(si + (ii - (len(impls) - 1) / 2) * width)
                        ys.append(v / 1e9)
                ax.bar(xs, ys, width, color=colors[impl], label=impl)
            rkind = FUNCTIONS[fn][1]
            rv = {"exp": exp1, "read": read1, "write": write1}[rkind]
            if rv:
                color, style = {"exp": ("black", "--"), "read": ("#9467bd", ":"),
                                "write": ("#ff7f0e", "-.")}[rkind]
                ax.axhline(rv / 1e9, color=color, linestyle=style, linewidth=1.5,
                           label=f"{rkind} roof (1 thread)")
            ax.set_yscale("log")
            ax.set_title(f"{fn}\n{order.replace('_', '-')}", fontsize=10)
            ax.set_xticks(range(len(SHAPES)))
            ax.set_xticklabels([f"{n}×{c}" for n, c in SHAPES], rotation=30, fontsize=8)
            ax.grid(axis="y", which="both", alpha=0.3)
            if fi % cols == 0:
                ax.set_ylabel("Gelem/s (log)")
    handles, labels = [], []
    for ax in axes.flat:  # every implementation and roof kind once
        for h, lbl in zip(*ax.get_legend_handles_labels()):
            if lbl not in labels:
                handles.append(h)
                labels.append(lbl)
    order = sorted(range(len(labels)), key=lambda i: ("roof" in labels[i], i))  # roofs last
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    others = "".join(f" vs {PEER_NAMES[p]}" for p in extra_peers(rates))
    fig.suptitle(f"xent vs libtorch{others} vs naive Eigen vs xent::reference — float, 1 thread, warm — "
                 f"{ctx.get('cpu_model', '')}, GCC {ctx.get('compiler', '')} {ctx.get('cxx_flags', '')}"
                 f" — xent {ctx.get('xent_git', '')}", y=0.995, fontsize=12)
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.975), ncol=len(labels),
               fontsize=11, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="Google Benchmark JSON from xent_bench --benchmark_out")
    ap.add_argument("outdir", nargs="?",
                    default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    ap.add_argument("--no-chart", action="store_true", help="skip the charts (no matplotlib)")
    ap.add_argument("--name", help="write NAME.md, NAME.png and NAME-peers.png (e.g. a CPU and"
                    " tier) instead of README.md, chart.png and chart-peers.png")
    args = ap.parse_args()
    md = f"{args.name}.md" if args.name else "README.md"
    png = f"{args.name}.png" if args.name else "chart.png"
    peers_png = f"{args.name}-peers.png" if args.name else "chart-peers.png"

    ctx, rates = load(args.json)
    if not rates:
        sys.exit(f"{args.json}: no xent_bench results")
    threads = sorted({k[5] for k in rates if k[0] != "roof"})
    os.makedirs(args.outdir, exist_ok=True)
    # A run of the softmax family alone (the peers' functions) gets no chart of every function.
    main_chart = any(k[0] not in ("roof", *PEER_FUNCTIONS) for k in rates)
    peers = peers_table(rates, ctx)
    lines = header(ctx, args) + describe(ctx)
    if not args.no_chart and main_chart:
        lines += [f"![Gelem/s per function and shape, 1 thread]({png})", ""]
    lines += second_core_warning(rates) + targets(rates) + roofs_table(rates) + main_tables(rates, threads) + cold_table(rates)
    lines += extra_shapes_table(rates) + peers
    if not args.no_chart and peers:
        lines += [f"![the softmax family against other libraries, 1 thread]({peers_png})", ""]
    lines += scaling_table(rates)
    readme = os.path.join(args.outdir, md)
    with open(readme, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    print(f"wrote {readme}")
    if not args.no_chart:
        for name, draw, wanted in ((png, chart, main_chart), (peers_png, peers_chart, bool(peers))):
            if wanted:
                draw(rates, os.path.join(args.outdir, name), ctx)
                print(f"wrote {os.path.join(args.outdir, name)}")


if __name__ == "__main__":
    main()
