#!/usr/bin/python3
"""Tables of the accuracy study from tools/accuracy/results.csv (stdlib only).

Writes tools/accuracy/README.md (method, summary, the misses, every cell) and replaces the summary
table between the markers <!-- accuracy-table --> and <!-- /accuracy-table --> in docs/accuracy.md.
Usage: /usr/bin/python3 tools/accuracy/report.py [results.csv]
"""
import csv
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FUNCS = ["ce", "ce_prob", "ce_grad", "ce_grad_target", "log_softmax", "softmax", "bce", "bce_grad"]
KINDS = ["random", "confident", "masked", "smoothing"]
WHO = ["xent", "reference_float", "naive_eigen", "reference_long_double", "pytorch"]
LABEL = {"ce": "cross-entropy (per sample)", "ce_prob": "cross-entropy, probability targets", "ce_grad": "its gradient (all entries)",
         "ce_grad_target": "gradient, target entry", "log_softmax": "log_softmax",
         "softmax": "softmax", "bce": "BCE with logits (per element)", "bce_grad": "its gradient"}


def fmt(v):
    if math.isinf(v):
        return "∞"
    if v == 0:
        return "0"
    return "%.3g" % v


def stat(r):
    m = float(r["max_ulp"])
    s = fmt(m)
    if int(r["nonfinite"]):
        s += " (%s non-finite)" % r["nonfinite"]
    return s


def targets(cell_rows, f, kind):
    """The issue's targets for one cell and function: a list of (name, met)."""
    x, t = cell_rows["xent"], cell_rows["pytorch"]
    xm, xa, tm, ta = (float(x["max_ulp"]), float(x["mean_ulp"]), float(t["max_ulp"]),
                      float(t["mean_ulp"]))
    mean_name = "mean ≤ PyTorch mean" + (" (missed by < 1 %)" if ta < xa <= ta * 1.01 else "")
    out = [("max ≤ PyTorch max + 0.5", xm <= tm + 0.5), (mean_name, xa <= ta)]
    if f in ("ce", "ce_prob"):
        out.append(("≤ 4 ulp", xm <= 4))
    if f == "ce_grad_target" and kind != "smoothing":
        out.append(("≤ 4 ulp", xm <= 4))
    return out


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results.csv")
    rows = list(csv.DictReader(open(path)))
    cells = {}
    for r in rows:
        cells.setdefault((int(r["cell"]), r["function"]), {})[r["contender"]] = r
    info = {int(r["cell"]): (int(r["C"]), int(r["N"]), r["scale"], r["kind"]) for r in rows}

    # Summary: per function and kind, over C and scale.
    summary = ["| function | cells | xent max / mean | PyTorch max / mean | reference<float> max | naive Eigen max | targets met |",
               "|---|---|---|---|---|---|---|"]
    misses = []
    for f in FUNCS:
        for k in KINDS:
            group = [(cid, cells[(cid, f)]) for cid in sorted(info) if info[cid][3] == k and (cid, f) in cells]
            if not group:
                continue
            def agg(who):
                mx = max(float(c[who]["max_ulp"]) for _, c in group)
                mean = sum(float(c[who]["mean_ulp"]) for _, c in group) / len(group)
                bad = sum(int(c[who]["nonfinite"]) for _, c in group)
                return mx, mean, bad
            def cellfmt(who, with_mean=True):
                mx, mean, bad = agg(who)
                s = fmt(mx) + (" / " + fmt(mean) if with_mean else "")
                return s + (" (%d non-finite)" % bad if bad else "")
            met = total = 0
            for cid, c in group:
                for name, ok in targets(c, f, k):
                    total += 1
                    met += ok
                    if not ok:
                        C, N, scale, kind = info[cid]
                        misses.append((f, k, name, C, scale, stat(c["xent"]) + " / " + fmt(float(c["xent"]["mean_ulp"])),
                                       stat(c["pytorch"]) + " / " + fmt(float(c["pytorch"]["mean_ulp"]))))
            summary.append("| %s | %s | %s | %s | %s | %s | %d / %d |" % (
                LABEL[f], k, cellfmt("xent"), cellfmt("pytorch"), cellfmt("reference_float", False),
                cellfmt("naive_eigen", False), met, total))
    summary_md = "\n".join(summary) + "\n"

    miss_md = ["| function | kind | target | C | scale | xent max / mean | PyTorch max / mean |",
               "|---|---|---|---:|---:|---|---|"]
    for m in misses:
        miss_md.append("| %s | %s | %s | %d | %s | %s | %s |" % m)

    full = ["| C | N | scale | kind | function | " + " | ".join(WHO) + " |",
            "|---:|---:|---:|---|---|" + "---|" * len(WHO)]
    for (cid, f) in sorted(cells, key=lambda k: (k[0], FUNCS.index(k[1]))):
        C, N, scale, kind = info[cid]
        c = cells[(cid, f)]
        full.append("| %d | %d | %s | %s | %s | %s |" % (C, N, scale, kind, f, " | ".join(
            stat(c[w]) + " / " + fmt(float(c[w]["mean_ulp"])) if w in c else "–" for w in WHO)))

    template = open(os.path.join(HERE, "README.template.md")).read()
    expl = open(os.path.join(HERE, "misses.md")).read() if os.path.exists(os.path.join(HERE, "misses.md")) else ""
    text = (template.replace("@SUMMARY@", summary_md).replace("@EXPLANATION@", expl).replace("@MISSES@", "\n".join(miss_md) + "\n")
            .replace("@FULL@", "\n".join(full) + "\n"))
    open(os.path.join(HERE, "README.md"), "w").write(text)

    readme = os.path.join(ROOT, "docs", "accuracy.md")
    s = open(readme).read()
    a, b = "<!-- accuracy-table -->\n", "<!-- /accuracy-table -->"
    if a in s and b in s:
        s = s[:s.index(a) + len(a)] + summary_md + s[s.index(b):]
        open(readme, "w").write(s)
    print("%d misses of the issue's targets" % len(misses))


if __name__ == "__main__":
    main()
