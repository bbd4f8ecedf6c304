"""Process set-up shared by every benchmark process: thread counts, peers, machine, versions."""

from __future__ import annotations

import datetime
import importlib
import importlib.metadata
import os
import platform
import sys
from typing import Any

THREADS = 2
#: OpenBLAS variables that can pin a slow kernel; unset in the benchmark's own processes only.
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: Set before jax is imported: XLA:CPU without Eigen's extra pool, two intra-op threads.
XLA_FLAGS = f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={THREADS}"
#: Names a run records what it did to the environment under (parent to child processes).
UNSET_NOTE = "DAGRAD_BENCH_UNSET"

_LIMITS: list[Any] = []  # keeps threadpoolctl's limiter alive


def prepare_environ() -> None:
    """Environment the numeric libraries read when they load: call before importing them."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " " + XLA_FLAGS).strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def child_environ(unset_blas: bool) -> dict[str, str]:
    """The environment for a benchmark subprocess (BLAS variables removed when asked)."""
    # The repository root goes on PYTHONPATH so ``python -m benchmarks.*`` works from anywhere.
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = env.get("PYTHONPATH", "").split(os.pathsep)
    if root not in paths:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [*paths, root]))
    if unset_blas:
        removed = [f"{k}={env.pop(k)}" for k in BLAS_ENV if k in env]
        if removed:
            env[UNSET_NOTE] = ";".join(removed)
    return env


def pin_threads(threads: int = THREADS) -> dict[str, Any]:
    """Limit every loaded BLAS/OpenMP pool (threadpoolctl) and PyTorch to ``threads``."""
    info: dict[str, Any] = {"threads": threads}
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        info["threadpoolctl"] = "not installed: NumPy's BLAS keeps its default thread count"
    else:
        _LIMITS.append(threadpool_limits(limits=threads))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
        info["torch"] = torch.get_num_threads()
    if "jax" in sys.modules:
        info["jax"] = os.environ.get("XLA_FLAGS", "")
    return info


def blas_info() -> list[dict[str, Any]]:
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries (empty without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "num_threads", "version", "architecture",
            "threading_layer", "filepath")
    return [{k: lib.get(k) for k in keep if k in lib} for lib in threadpool_info()]


def import_peer(name: str) -> tuple[Any, str]:
    """(module, "") for an importable peer, else (None, why it is skipped)."""
    try:
        if name == "torch":
            import torch

            torch.set_num_threads(THREADS)
            pin_threads()
            return torch, ""
        if name == "jax":
            prepare_environ()
            import jax

            jax.config.update("jax_enable_x64", True)  # float64 rows; float32 stays explicit
            return jax, ""
        if name == "micrograd":
            return importlib.import_module("micrograd.engine"), ""
    except Exception as e:  # any import failure: skip with the reason
        return None, f"{name} skipped: {type(e).__name__}: {e}"
    raise ValueError(f"unknown peer {name!r}")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (platform's guess elsewhere)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """CPU, cores, OS, date, versions and the BLAS kernel, for the report."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    versions = {"python": platform.python_version()}
    for dist in ("numpy", "dagrad", "torch", "jax", "jaxlib", "micrograd", "threadpoolctl"):
        versions[dist] = _version(dist)
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": versions,
        "blas": blas_info(),
        "blas_env_unset": os.environ.get(UNSET_NOTE, ""),
        "blas_env_present": {k: os.environ[k] for k in BLAS_ENV if k in os.environ},
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
