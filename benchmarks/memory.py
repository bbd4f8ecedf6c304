"""Peak RSS while training: one fresh subprocess per backend (``python -m benchmarks.memory``).

Each child imports only its own backend, trains the MLP at batch 128 over the MNIST sample (read
from the packaged file, uint8 images scaled per batch into one reused buffer, as a data loader
does) and reports ``ru_maxrss``.  "python+numpy" loads and scales the data without a model.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

NAME = "memory"
BACKENDS = ("python+numpy", "dagrad", "numpy", "torch", "jax")
STEPS = {"full": 60, "quick": 30, "smoke": 2}
BATCH = 128


def _train(backend: str, steps: int, batch: int) -> dict[str, Any]:
    """Train ``steps`` steps in this process and report the peak RSS."""
    from . import env

    env.setup()
    import numpy as np

    from . import mlp, model

    images, labels, source = model.load_images(use_dagrad=False)
    params = model.init_params(np.float32)
    x = np.zeros((batch, images.shape[1]), np.float32)
    y = np.zeros(batch, np.int64)
    step = None
    if backend == "dagrad":
        step = mlp.dagrad_step(params, x, y)
    elif backend == "numpy":
        step = mlp.numpy_step(params, x, y)
    elif backend in ("torch", "jax"):
        peer, why = env.import_peer(backend)
        if peer is None:
            return {"backend": backend, "skipped": why}
        step = (mlp.torch_step(peer, params, x, y) if backend == "torch"
                else mlp.jax_step(peer, params, x, y, reread=True))
    env.limit_loaded()
    losses = []
    for i in range(steps):
        lo = (i * batch) % (len(images) - batch + 1)
        np.divide(images[lo:lo + batch], np.float32(255), out=x)
        y[...] = labels[lo:lo + batch]
        if step is not None:
            losses.append(model.as_float(step()))
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"backend": backend, "steps": steps if step is not None else 0, "batch": batch,
            "data": source, "maxrss_mib": rss_kib / 1024, "vmhwm_mib": _vmhwm_mib(),
            "loss_first": losses[0] if losses else None,
            "loss_last": losses[-1] if losses else None}


def _vmhwm_mib() -> float | None:
    """The kernel's peak-RSS figure for this process image (Linux), a cross-check."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def measure(backend: str, steps: int, environ: dict[str, str]) -> dict[str, Any]:
    """Run one child and parse its JSON line."""
    # A child exec'd straight from this (large) process would inherit its ``ru_maxrss``, so the
    # child is started by a small shell that forks it (``; exit`` keeps the shell from exec'ing).
    cmd = [sys.executable, "-m", "benchmarks.memory", "--backend", backend, "--steps", str(steps)]
    if os.name == "posix":
        cmd = ["/bin/sh", "-c", '"$0" "$@"; exit $?', *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=environ, timeout=600)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"backend": backend, "error": tail[0]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(ctx) -> dict[str, Any]:
    """Peak RSS per backend; children run side by side (RSS does not depend on timing)."""
    steps = STEPS[ctx.mode]
    names = [b for b in BACKENDS if b not in ("torch", "jax") or ctx.peer(b) is not None]
    with ThreadPoolExecutor(max_workers=2) as pool:
        res = list(pool.map(lambda b: measure(b, steps, ctx.child_env), names))
    rows = {r["backend"]: r for r in res}
    ok = all("maxrss_mib" in r and r["maxrss_mib"] > 0 for r in rows.values())
    finite = all(r.get("loss_last") is None or np_isfinite(r["loss_last"]) for r in rows.values())
    return {"unit": "MiB peak RSS", "steps": steps, "batch": BATCH, "backends": rows,
            "checks": {"every child reported its peak RSS": ok, "losses finite": finite}}


def np_isfinite(v: float) -> bool:
    """v is a finite float."""
    return v == v and abs(v) != float("inf")


def main() -> None:
    """Child entry point: train and print one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", choices=BACKENDS, required=True)
    ap.add_argument("--steps", type=int, default=STEPS["full"])
    ap.add_argument("--batch", type=int, default=BATCH)
    args = ap.parse_args()
    print(json.dumps(_train(args.backend, args.steps, args.batch)))


if __name__ == "__main__":
    main()
