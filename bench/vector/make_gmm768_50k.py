#!/usr/bin/env python3
"""Makes gmm-768-angular-50k: the dataset kit's 768-d Gaussian mixture (make_datasets.gmm, the
generator of its gmm-768-* sets) with 50,000 base vectors instead of 200,000, so that building
three HNSW indexes on two cores takes about a minute each, plus 10,000 queries, L2-normalised,
with the kit's attributes, filters and exact ground truth (stage gt). About a minute of CPU.

Usage (from the repository root; writes outside it, never commit the output):
  . ../shared/datasets/env.sh
  /usr/bin/python3 bench/vector/make_gmm768_50k.py --kit ../shared/datasets --out /work/vecdata
"""
import argparse
import os
import sys
import types

ap = argparse.ArgumentParser()
ap.add_argument("--kit", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../shared/datasets"))
ap.add_argument("--out", required=True)
ap.add_argument("--n", type=int, default=50000)
args = ap.parse_args()
sys.path.insert(0, os.path.abspath(args.kit))
import make_datasets as m  # noqa: E402
import numpy as np  # noqa: E402

m.ARGS = types.SimpleNamespace(force=False, ft_threads=1)
name = "gmm-768-angular-%dk" % (args.n // 1000)
if os.path.exists(os.path.join(args.out, name, name + ".gt.t1.ivecs")):
    print(name, "exists")
    sys.exit(0)
nq, dim, clusters, seed = 10000, 768, 256, 768
x, _ = m.gmm(args.n + nq, dim, clusters, seed)
x /= np.linalg.norm(x, axis=1, keepdims=True)
m.save_dataset(args.out, name, x[:args.n], x[args.n:], "angular",
               {"source": "synthetic anisotropic Gaussian mixture (make_datasets.gmm), %d base, L2-normalised" % args.n,
                "clusters": clusters, "gmm_seed": seed}, seed)
m.stage_gt(args.out)  # skips datasets whose ground truth exists
