#!/usr/bin/env python3
"""dfan's DFAN head in PyTorch, shape for shape: the training peer of `npm run bench -- peers`.

The same work as one epoch of `fitModel` with dfan's defaults (src/model/config.ts, dfan.ts):
streams object (map T x N x C after the PCA), context, action, face (vectors); batch 32; Adam
lr 1e-3 (eps 1e-7, as tf.train.adam); cross-entropy + weight decay 2/n on the matrices.
  dual: spatial focus on the object map with scorer width h (32), context g_t = action (U g_t + b),
        focus contrast W x_ti - lambda * W xbar_i, value contrast 'both' ([x_hat ; x_hat - kappa *
        sum_i alpha_i xbar_i] -> the projection reads 2C), map dropout 0.5 on the batch's cells
        (xbar stays whole); per-stream projections to d (128) + relu; temporal focus Q (4d -> 64)
        with mu contrast, v (64 -> 1), masked softmax over t; dropout 0.5 on z; linear -> classes.
  mean: projections of the cell-mean map and the vectors, z = mean over snippets, dropout, linear.
What dfan precomputes once at load time, this peer precomputes too (the object map's mean over
cells for `mean`, each cell's mean over the video's snippets xbar for `dual`), so that both do the
same work per step.

Runs as a server for the benchmark, so that epochs can be interleaved with dfan's in one run:
it builds its data, prints one JSON line {"ready": ...}, then answers each JSON line on stdin
  {"epochs": k, "threads": n}  ->  {"wall": [s per epoch], "cpu": [s per epoch]}
  {"quit": true}                ->  exits
CPU seconds are the process's (all threads). Inputs are seeded random numbers: speed only.
Needs PyTorch (Debian: python3-torch) with OpenBLAS (libopenblas0-pthread): without it torch
falls back to a reference BLAS some 50x slower, and the ready line says which BLAS is loaded.
"""
import argparse
import json
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError as e:  # the benchmark skips the peer with this message
    print(json.dumps({"error": f"PyTorch is not installed ({e}): apt-get install python3-torch libopenblas0-pthread"}))
    sys.exit(0)

ap = argparse.ArgumentParser()
ap.add_argument("--variant", default="dual", choices=["dual", "mean"])
ap.add_argument("--videos", type=int, default=1637)
ap.add_argument("--T", type=int, default=16)
ap.add_argument("--grid", type=int, default=7)
ap.add_argument("--map-dim", type=int, default=128)
ap.add_argument("--context", type=int, default=404)
ap.add_argument("--action", type=int, default=111)
ap.add_argument("--face", type=int, default=12)
ap.add_argument("--classes", type=int, default=6)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--spatial-hidden", type=int, default=32)
ap.add_argument("--proj", type=int, default=128)
ap.add_argument("--temporal-hidden", type=int, default=64)
a = ap.parse_args()

T, N, C = a.T, a.grid * a.grid, a.map_dim
CC, CA, CF, K, B = a.context, a.action, a.face, a.classes, a.batch
H, D, HT = a.spatial_hidden, a.proj, a.temporal_hidden
dual = a.variant == "dual"


def loaded_blas():
    """The BLAS library mapped into this process (after a product has run), or None."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if "blas" in path.lower() or "mkl" in path.lower():
                libs.add(path)
    return sorted(libs)


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        if dual:
            self.W = nn.Linear(C, H, bias=False)  # spatial scorer W (the map's 128 leading components)
            self.U = nn.Linear(CA, H)  # context U g_t + b
            self.w = nn.Linear(H, 1, bias=False)
            self.lam = nn.Parameter(torch.ones(H))
            self.kappa = nn.Parameter(torch.ones(C))
            self.Q = nn.Linear(4 * D, HT)
            self.v = nn.Linear(HT, 1, bias=False)
            self.mu = nn.Parameter(torch.ones(HT))
        self.Po = nn.Linear(2 * C if dual else C, D)
        self.Pc, self.Pa, self.Pf = nn.Linear(CC, D), nn.Linear(CA, D), nn.Linear(CF, D)
        self.drop = nn.Dropout(0.5)
        self.mapdrop = nn.Dropout(0.5)
        self.classifier = nn.Linear(4 * D, K)

    def forward(self, obj, xbar, ctx, act, face, mask):
        # obj [B,T,N,C] (dual) or [B,T,C] (mean: cells pooled at load), xbar [B,N,C], mask [B,T]
        cnt = mask.sum(1).clamp(min=1).view(-1, 1, 1)
        if dual:
            x = self.mapdrop(obj)
            pre = self.W(x) - self.lam * self.W(xbar).unsqueeze(1) + self.U(act).unsqueeze(2)  # [B,T,N,H]
            alpha = torch.softmax(self.w(torch.tanh(pre)).squeeze(-1), -1)  # [B,T,N]
            pooled = torch.einsum("btn,btnc->btc", alpha, x)
            contrasted = pooled - self.kappa * torch.einsum("btn,bnc->btc", alpha, xbar)
            o = torch.cat([pooled, contrasted], -1)
        else:
            o = obj
        u = torch.relu(torch.cat([self.Po(o), self.Pc(ctx), self.Pa(act), self.Pf(face)], -1))  # [B,T,4D]
        if dual:
            qu = self.Q(u)  # Q u_t + q
            qu = qu - self.mu * ((qu * mask.unsqueeze(-1)).sum(1, keepdim=True) / cnt)
            s = self.v(torch.tanh(qu)).squeeze(-1).masked_fill(mask == 0, -1e9)
            beta = torch.softmax(s, -1)
        else:
            beta = mask / mask.sum(1, keepdim=True)
        z = torch.einsum("bt,btd->bd", beta, u)
        return self.classifier(self.drop(z))


torch.manual_seed(0)
n = a.videos
# uniform noise of unit variance, as dfan's benchmark features after preprocessing
obj_full = (torch.rand(n, T, N, C) - 0.5) * 3.4641016
ctx, act, face = [(torch.rand(n, T, c) - 0.5) * 3.4641016 for c in (CC, CA, CF)]
mask = torch.ones(n, T)
labels = torch.arange(n) % K
if dual:
    obj = obj_full
    xbar = obj_full.mean(1)  # [n,N,C] each cell's mean over the video's snippets (at load, as dfan)
else:
    obj = obj_full.mean(2)  # [n,T,C] the map's mean over cells (at load, as dfan)
    xbar = torch.zeros(n, 1, 1)
    del obj_full
model = Head()
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
decay = [p for name, p in model.named_parameters() if p.dim() == 2 and name not in ("w.weight", "v.weight")]
wd = 2.0 / n
n_params = sum(p.numel() for p in model.parameters())


def step(idx):
    logits = model(obj[idx], xbar[idx], ctx[idx], act[idx], face[idx], mask[idx])
    loss = nn.functional.cross_entropy(logits, labels[idx]) + 0.5 * wd * sum((p * p).sum() for p in decay)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def flops_per_step():
    """FLOPs of one step (forward + backward) by torch's profiler: of the matrix products
    (mm, addmm, bmm: what dfan counts) and of every op it counts (elementwise mul/add too)."""
    try:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
            step(torch.arange(B))
        ev = [e for e in prof.key_averages() if e.flops]
        products = sum(e.flops for e in ev if e.key in ("aten::mm", "aten::addmm", "aten::bmm"))
        return int(products), int(sum(e.flops for e in ev))
    except Exception:  # an older profiler: no count
        return None, None


def epoch():
    perm = torch.randperm(n)
    for i in range(0, n, B):
        step(perm[i:i + B])


blas = loaded_blas()
product_flops, all_flops = flops_per_step()
print(json.dumps({"ready": True, "torch": torch.__version__, "blas": blas,
                  "openblas": any("openblas" in b.lower() for b in blas),
                  "params": n_params, "product_flops": product_flops, "all_flops": all_flops,
                  "steps_per_epoch": (n + B - 1) // B}), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd.get("quit"):
        break
    torch.set_num_threads(int(cmd.get("threads", 1)))
    walls, cpus = [], []
    for _ in range(int(cmd.get("epochs", 1))):
        t0, c0 = time.perf_counter(), time.process_time()
        epoch()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    print(json.dumps({"wall": walls, "cpu": cpus, "threads": torch.get_num_threads()}), flush=True)
