#!/usr/bin/python3
"""PyTorch 1.13's results on the accuracy study's inputs (written by `accuracy dump <dir>`).

For every cell in <dir>/manifest.txt: per-sample cross-entropy (reduction='none') and its gradient
(autograd, grad_output of ones), with label smoothing the per-sample cross-entropy against the
same classes as one-hot probability targets, log_softmax, softmax, and the element-wise
binary_cross_entropy_with_logits with its gradient (ones), all in float32 on the CPU, one thread.
Writes raw float32 files next to the inputs; `accuracy measure` reads them.
Usage: /usr/bin/python3 tools/accuracy/torch_outputs.py <dir>
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


def main(d):
    torch.set_num_threads(1)
    with open(os.path.join(d, "manifest.txt")) as f:
        cells = [line.split() for line in f if line.strip()]
    for cid, n, c, eps in cells:
        n, c, eps = int(n), int(c), float(eps)
        base = os.path.join(d, "cell" + cid + "_")
        x = torch.from_numpy(np.fromfile(base + "x.f32", dtype=np.float32).reshape(n, c))
        t = torch.from_numpy(np.fromfile(base + "t.f32", dtype=np.float32).reshape(n, c))
        y = torch.from_numpy(np.fromfile(base + "y.i64", dtype=np.int64))

        def save(name, v):
            v.detach().numpy().astype(np.float32).tofile(base + "torch_" + name + ".f32")

        xg = x.clone().requires_grad_(True)
        ce = F.cross_entropy(xg, y, reduction="none", label_smoothing=eps)
        ce.backward(torch.ones_like(ce))
        save("ce", ce)
        save("grad", xg.grad)
        if eps > 0:  # the smoothing cells: y as one-hot probability targets too
            onehot = F.one_hot(y, c).to(torch.float32)
            with torch.no_grad():
                save("ce_prob", F.cross_entropy(x, onehot, reduction="none", label_smoothing=eps))
        with torch.no_grad():
            save("lsm", F.log_softmax(x, dim=1))
            save("sm", F.softmax(x, dim=1))
        xg = x.clone().requires_grad_(True)
        bce = F.binary_cross_entropy_with_logits(xg, t, reduction="none")
        bce.backward(torch.ones_like(bce))
        save("bce", bce)
        save("bce_grad", xg.grad)


if __name__ == "__main__":
    main(sys.argv[1])
