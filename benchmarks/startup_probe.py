"""One trial worker's start, phase by phase, in a fresh process: what a Tune trial pays before its first epoch
and in it. ``bench_gpu.py --parts startup`` runs several at once (one per slot) and tabulates them.

    python benchmarks/startup_probe.py LAUNCHED_AT EXPERIMENT [a.b=value ...]

With PROBE_PREWARM=1 a thread imports ``torch._dynamo`` (which the first optimizer built imports) while the main
thread creates the CUDA context and copies the data. Prints one JSON line: seconds per phase. LAUNCHED_AT
(time.time() when the parent launched this process) gives the interpreter's own start. The data comes from the
experiment's cache here (a trial reads it from Ray's object store instead), so that phase is reported but is not
a trial's cost.
"""

from __future__ import annotations

import time

_ENTERED = time.time()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402


def main() -> None:
    launched, experiment, overrides = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
    phases: dict[str, float] = {"interpreter start": _ENTERED - launched}
    clock = [time.perf_counter()]

    def mark(name: str) -> None:
        now = time.perf_counter()
        phases[name] = now - clock[0]
        clock[0] = now

    import torch

    mark("import torch")
    import ray.tune  # noqa: F401

    mark("import ray.tune")
    import cords_tune.tuning.trainable  # noqa: F401
    from cords_tune.config import load_config
    from cords_tune.preflight import load_data
    from cords_tune.training import build_trainer

    mark("import cords_tune")
    prewarm = threading.Thread(target=lambda: __import__("torch._dynamo"))
    if os.environ.get("PROBE_PREWARM") == "1":
        prewarm.start()
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    torch.zeros(1, device=device)
    sync()
    mark("CUDA context")
    config = load_config(experiment, overrides)
    data = load_data(config)
    mark("load data (cache; not a trial's cost)")
    torch.as_tensor(data.x_train).to(device)
    sync()
    mark("training images to the device")
    if prewarm.is_alive():
        prewarm.join()
    import torch._dynamo  # noqa: F401

    mark("import torch._dynamo (waited for, with PROBE_PREWARM=1)")
    trainer = build_trainer(config, data)
    sync()
    mark("build trainer (data copied again, model, optimizer, the rest)")
    for name in ("first epoch", "second epoch", "third epoch"):
        trainer.run_epoch()
        sync()
        mark(name)
    print(json.dumps(phases))


if __name__ == "__main__":
    main()
