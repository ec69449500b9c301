"""The compression table of a finished run's final model: int8 and pruned variants next to the fp32 model.

Reads ``RUN_DIR/model.pt`` and ``RUN_DIR/best_config.yaml`` (else ``config.yaml``), loads the dataset as the run did (same seed, splits and
normalisation), makes the variants ``--compress`` asks for (the ``final.compress`` mapping, YAML) into
``--out`` (default: a temporary folder, so that the run directory is left as it is) and prints the table of
``report.md`` in markdown, with the machine it ran on. Torch runs on one thread throughout (latency is
measured on one thread anyway; the fine-tune too, so that a busy 2-core machine does not thrash).

    python benchmarks/bench_compression.py results/mnist1d-quickstart-20261127-112342 \\
        --compress '{dynamic_int8: true, static_int8: true, prune: [0.5, 0.8], finetune_epochs: 1}'
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
from pathlib import Path

import torch

from cords_tune.compression import compress
from cords_tune.config import load_config
from cords_tune.final_model import MODEL_FILE
from cords_tune.preflight import load_and_check
from cords_tune.reports.markdown import markdown_table
from cords_tune.reports.wording import compression_note, compression_table

DEFAULT = "{dynamic_int8: true, static_int8: true, prune: [0.5, 0.8], finetune_epochs: 1}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a run directory with model.pt and config.yaml")
    parser.add_argument("--compress", default=DEFAULT, help=f"the final.compress mapping (default {DEFAULT})")
    parser.add_argument("--out", type=Path, default=None, help="where the variants go (default: a temporary folder)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    # best_config.yaml has the picked training values (the fine-tune's lr and batch size); the data is the same
    source = next(f for f in (args.run_dir / "best_config.yaml", args.run_dir / "config.yaml") if f.is_file())
    config = load_config(source, overrides=[f"final.compress={args.compress}"])
    data = load_and_check(config, download=False)
    with tempfile.TemporaryDirectory() as scratch:
        result = compress(args.run_dir / MODEL_FILE, data, config, out_dir=args.out or scratch)
    header, rows = compression_table(result)
    if args.out is None:  # the files are gone: keep the column, say where they were made
        rows = [row[:-1] + [row[-1] if row[1] == "skipped" else Path(row[-1]).name] for row in rows]
    print(f"Model: {args.run_dir / MODEL_FILE} ({config.model.name} {dict(config.model.params)} on "
          f"{config.dataset.name}); final.compress = {args.compress}")
    print(f"Machine: {platform.machine()} CPU, {os.cpu_count()} cores; Python {platform.python_version()}; torch "
          f"{torch.__version__} (quantized engine {torch.backends.quantized.engine}); "
          f"{datetime.date.today().isoformat()}; compression took {result.wall_s:.1f} s")
    print()
    print(markdown_table(header, rows))
    print()
    print(f"{compression_note(result)}.")


if __name__ == "__main__":
    sys.exit(main())
