"""Speed and matching quality of gradmatch_omp, next to CORDS's own OMP and a random subset, in one run.

The gradient matrix is real (``--experiment``: a model of the experiment trained a few epochs) or synthetic and
class-structured like real last-layer gradients: ``g_i = (softmax(z_i) - onehot(y_i))
outer [h_i, 1]`` with features ``h_i`` from class means plus low-rank and isotropic noise, so d = C * (f + 1).
The target is the sum of all rows (the full training gradient). Quality is the relative matching error
``|G_S^T w - t| / |t|``; the random subset gets uniform weights n / k, and the least-squares best uniform weight.

With CORDS importable (``--cords path/to/cords-0.0.4-py3-none-any.whl``: the wheel is pure Python and imports
straight from the file; or cords installed in the environment) its ``OrthogonalMP_REG_Parallel`` runs on the
same matrix, called as CORDS's GradMatchStrategy calls it (the transposed gradients, ``positive=True``, the
same absolute ``lam`` and ``tol``), alternating with ``gradmatch_omp``, which is then given the number of atoms
CORDS ended with. A third row gives CORDS a column-major copy, the layout its matrix-vector product reads
fastest on a CPU (not how its strategy calls it).

    python benchmarks/bench_omp.py --n 20000 --d 1000 --budget 2000 --repeats 3 --seed 0
    python benchmarks/bench_omp.py --n 16000 --d 650 --budget 1600 --lam 0.5 --tol 1e-4 --repeats 5 \\
        --cords /tmp/cordswheel/cords-0.0.4-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
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


def time_call(run: Callable[[], tuple[torch.Tensor, torch.Tensor]]) -> tuple[list[float], torch.Tensor, torch.Tensor]:
    start = time.perf_counter()
    indices, weights = run()
    return [time.perf_counter() - start], indices, weights


def experiment_gradients(experiment: str, overrides: list[str], epochs: int) -> torch.Tensor:
    """The (n, d) per-sample last-layer gradients of the experiment's model after ``epochs`` of full-data training."""
    from cords_tune.config import apply_params, load_config
    from cords_tune.preflight import load_data
    from cords_tune.selection.features import LastLayerGradients
    from cords_tune.training import build_trainer

    config = apply_params(load_config(experiment, overrides), {"selection.strategy": "full", "training.epochs": epochs,
                                                                    "baseline": False})
    trainer = build_trainer(config, load_data(config))
    trainer.fit()
    return LastLayerGradients(trainer.model, trainer.train).per_sample()


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


def import_cords_omp(path: str | None) -> Callable | None:
    """CORDS's ``OrthogonalMP_REG_Parallel``, or ``None`` with a message saying how to make it importable."""
    if path:
        sys.path.insert(0, path)
    numpy_errors = np.geterr()
    try:
        from cords.selectionstrategies.helpers.omp_solvers import OrthogonalMP_REG_Parallel
    except ImportError as error:
        print(f"# CORDS's OMP is not importable ({error}). To compare with it, pass --cords "
              "path/to/cords-0.0.4-py3-none-any.whl (pure Python, imported from the file), or install cords 0.0.4 "
              "into this environment. Timing gradmatch_omp alone.")
        return None
    finally:
        np.seterr(**numpy_errors)  # importing CORDS sets numpy to raise on every floating-point warning
    return OrthogonalMP_REG_Parallel


def summary(times: list[float]) -> str:
    return (f"{statistics.median(times):.3f} s | {min(times):.3f}-{max(times):.3f} s | "
            f"{', '.join(f'{t:.2f}' for t in times)}")


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
    parser.add_argument("--tol", type=float, default=1e-6, help="stop once |r| <= tol |t| (CORDS's GradMatch: 1e-4)")
    parser.add_argument("--cords", help="path to the cords 0.0.4 wheel (or a directory holding the cords package)")
    parser.add_argument("--experiment", help="take real last-layer gradients: this experiment's base config, trained "
                        "--train-epochs on the full data (--n, --d and --classes then come from it)")
    parser.add_argument("--train-epochs", type=int, default=3)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override a.b=value")
    args = parser.parse_args(argv)
    cords_omp = import_cords_omp(args.cords)

    generator = torch.Generator().manual_seed(args.seed)
    dtype = getattr(torch, args.dtype)
    if args.experiment:
        gradients = experiment_gradients(args.experiment, args.overrides, args.train_epochs).to(dtype)
        args.n, args.d = gradients.shape
    else:
        gradients = last_layer_gradients(args.n, args.d, classes=args.classes, dtype=dtype, generator=generator)
    target = gradients.sum(0)
    lam = args.lam * float(gradients.double().pow(2).sum(1).mean())

    print(f"# machine: {cpu_model()}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"# command: python {' '.join(sys.argv)}")
    source = args.experiment or f"{args.classes} synthetic classes"
    print(f"# G: {args.n} x {args.d} {args.dtype} last-layer gradients ({source}); target = sum of rows; "
          f"budget {args.budget}; lam {args.lam} x mean |g|^2 = {lam:.4g}")
    budget = args.budget
    runs: dict[str, Callable[[], tuple[torch.Tensor, torch.Tensor]]] = {}
    if cords_omp is not None:
        column_major = gradients.t().contiguous()  # (d, n): its transpose is the column-major (n, d)

        def cords(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x = cords_omp(matrix, target, nnz=args.budget, positive=True, lam=lam, tol=args.tol)
            chosen = torch.nonzero(x).flatten()
            return chosen, x[chosen]

        runs["CORDS OrthogonalMP_REG_Parallel, as its GradMatch calls it"] = lambda: cords(gradients.T)
        runs["CORDS OrthogonalMP_REG_Parallel, column-major copy"] = lambda: cords(column_major)
        budget = len(time_call(runs[next(iter(runs))])[1])  # an untimed run: the atoms gradmatch_omp then gets
    runs["gradmatch_omp"] = lambda: gradmatch_omp(gradients, target, budget, lam=lam, tol=args.tol)
    rows = {name: ([], None, None) for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():  # alternating, so that a busy spell of the machine hits every row
            times, indices, weights = time_call(run)
            rows[name] = (rows[name][0] + times, indices, weights)

    print(f"\n| OMP (tol {args.tol:g}, lam {lam:.4g}) | wall time, median of {args.repeats} | min-max | runs | atoms | "
          "relative matching error |")
    print("|---|---|---|---|---|---|")
    for name, (times, chosen, chosen_weights) in rows.items():
        print(f"| {name} | {summary(times)} | {len(chosen)} | {relative_error(gradients, chosen, chosen_weights, target):.4g} |")
    if cords_omp is not None:
        ours = statistics.median(rows["gradmatch_omp"][0])
        for name in rows:
            if name != "gradmatch_omp":
                print(f"\ngradmatch_omp is {statistics.median(rows[name][0]) / ours:.2f}x as fast as {name}.")
    times, indices, weights = rows["gradmatch_omp"]
    k = len(indices)
    random_indices = torch.randperm(args.n, generator=generator)[:k]
    uniform = torch.full((k,), args.n / k, dtype=torch.float64)
    summed = gradients[random_indices].double().sum(0)
    best_scale = float(summed @ target.double() / (summed @ summed))

    print(f"\ngradmatch_omp: median {statistics.median(times):.2f} s over {len(times)} runs; chose k = {k} atoms, "
          f"weights sum {float(weights.sum()):.1f}")
    print("\n| subset (k = %d) | relative matching error |G_S^T w - t| / |t| |" % k)
    print("|---|---|")
    print(f"| gradmatch_omp, NNLS weights | {relative_error(gradients, indices, weights, target):.4g} |")
    print(f"| random, uniform n/k | {relative_error(gradients, random_indices, uniform, target):.4g} |")
    print(f"| random, least-squares uniform ({best_scale:.3g}) | "
          f"{relative_error(gradients, random_indices, torch.full((k,), best_scale), target):.4g} |")


if __name__ == "__main__":
    main()
