"""Speed and matching quality of gradmatch_omp, next to a random subset of the same size, in one run.

The gradient matrix is class-structured like real last-layer gradients: ``g_i = (softmax(z_i) - onehot(y_i))
outer [h_i, 1]`` with features ``h_i`` from class means plus low-rank and isotropic noise, so d = C * (f + 1).
The target is the sum of all rows (the full training gradient). Quality is the relative matching error
``|G_S^T w - t| / |t|``; the random subset gets uniform weights n / k, and the least-squares best uniform weight.

    python benchmarks/bench_omp.py --n 20000 --d 1000 --budget 2000 --repeats 3 --seed 0
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

import torch

from cords_tune.selection.functional import gradmatch_omp


def last_layer_gradients(
    n: int, d: int, *, classes: int, dtype: torch.dtype, generator: torch.Generator
) -> torch.Tensor:
    """(n, d) per-sample last-layer gradients of a softmax classifier on synthetic class-structured features."""
    if d % classes:
        raise SystemExit(f"--d must be a multiple of --classes ({classes}). Got {d}.")
    f = d // classes - 1
    labels = torch.randint(classes, (n,), generator=generator)
    means = 2.0 * torch.randn(classes, f, generator=generator)
    basis = torch.randn(8, f, generator=generator)
    features = (
        means[labels]
        + torch.randn(n, 8, generator=generator) @ basis
        + torch.randn(n, f, generator=generator)
    ) / f**0.5
    head = torch.randn(classes, f, generator=generator) + means  # a partly trained head
    logits = features @ head.T
    logits = 2.0 * (logits - logits.mean(1, keepdim=True)) / logits.std()  # mid-training confidence
    error = torch.softmax(logits, dim=1) - torch.nn.functional.one_hot(labels, classes).float()
    inputs = torch.cat([features, torch.ones(n, 1)], dim=1)
    return (error[:, :, None] * inputs[:, None, :]).reshape(n, d).to(dtype)


def relative_error(
    gradients: torch.Tensor, indices: torch.Tensor, weights: torch.Tensor, target: torch.Tensor
) -> float:
    matched = gradients[indices].double().T @ weights.double()
    return float(torch.linalg.vector_norm(matched - target.double()) / torch.linalg.vector_norm(target.double()))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--d", type=int, default=1000)
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--lam", type=float, default=0.0, help="ridge penalty, relative to the mean squared row norm")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args(argv)

    generator = torch.Generator().manual_seed(args.seed)
    dtype = getattr(torch, args.dtype)
    gradients = last_layer_gradients(args.n, args.d, classes=args.classes, dtype=dtype, generator=generator)
    target = gradients.sum(0)
    lam = args.lam * float(gradients.double().pow(2).sum(1).mean())

    print(f"# machine: {cpu_model()}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"# command: python {' '.join(sys.argv)}")
    print(f"# G: {args.n} x {args.d} {args.dtype} last-layer gradients ({args.classes} classes); target = sum of rows; "
          f"budget {args.budget}; lam {args.lam} x mean |g|^2 = {lam:.4g}")
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        indices, weights = gradmatch_omp(gradients, target, args.budget, lam=lam)
        times.append(time.perf_counter() - start)
    k = len(indices)
    random_indices = torch.randperm(args.n, generator=generator)[:k]
    uniform = torch.full((k,), args.n / k, dtype=torch.float64)
    summed = gradients[random_indices].double().sum(0)
    best_scale = float(summed @ target.double() / (summed @ summed))

    print(f"\nomp wall time: median {statistics.median(times):.2f} s over {args.repeats} runs "
          f"({', '.join(f'{t:.2f}' for t in times)}); chose k = {k} atoms, weights sum {float(weights.sum()):.1f}")
    print("\n| subset (k = %d) | relative matching error |G_S^T w - t| / |t| |" % k)
    print("|---|---|")
    print(f"| gradmatch_omp, NNLS weights | {relative_error(gradients, indices, weights, target):.4g} |")
    print(f"| random, uniform n/k | {relative_error(gradients, random_indices, uniform, target):.4g} |")
    print(f"| random, least-squares uniform ({best_scale:.3g}) | "
          f"{relative_error(gradients, random_indices, torch.full((k,), best_scale), target):.4g} |")


if __name__ == "__main__":
    main()
