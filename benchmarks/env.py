"""Process set-up shared by every benchmark process: CPUs, thread counts, peers, machine.

Fairness: every backend runs on the same CPUs with as many threads as there are CPUs, each set
by the library's own documented mechanism, and the report records what each library says it
uses (``observe``):

- the process is pinned with ``os.sched_setaffinity``; child processes inherit the set;
- NumPy's BLAS and OpenMP read ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` /
  ``OMP_NUM_THREADS`` when they load, so ``setup`` sets them before NumPy is imported
  (threadpoolctl then limits any pool that loaded before or ignored them);
- PyTorch gets ``torch.set_num_threads``;
- XLA:CPU (JAX) sizes its intra-op pool from the CPUs the process may use and has no
  documented thread-count flag, so no ``XLA_FLAGS`` are set: the affinity set is its setting.
"""

from __future__ import annotations

import collections
import datetime
import importlib
import importlib.metadata
import os
import platform
import sys
from typing import Any

#: The variables through which OpenBLAS, MKL and OpenMP take their thread count at load time.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: OpenBLAS variables that can pin a slow kernel; unset in the benchmark's own processes only.
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: Names a run records what it did to the environment under (parent to child processes).
UNSET_NOTE = "DAGRAD_BENCH_UNSET"
#: The name XLA:CPU gives the threads of its intra-op (Eigen) pool, as the OS lists them.
XLA_POOL_THREAD = "tf_XLAEigen"

_LIMITS: list[Any] = []  # keeps threadpoolctl's limiters alive


def usable_cpus() -> list[int]:
    """The CPUs this process may run on (``os.sched_getaffinity``), sorted."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux: every CPU
        return list(range(os.cpu_count() or 1))


def pin(cpus: list[int] | None = None) -> list[int]:
    """Pin this process (and the children it starts) to ``cpus`` (default: those it may use)."""
    want = sorted(set(cpus)) if cpus else usable_cpus()
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, want)
        except OSError as e:
            raise ValueError(f"cannot pin the benchmark to CPUs {want}: {e}") from e
    return usable_cpus()


def setup(cpus: list[int] | None = None) -> dict[str, Any]:
    """Pin to ``cpus`` and give every library len(cpus) threads; call before importing NumPy."""
    pinned = pin(cpus)
    threads = len(pinned)
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")  # JAX's documented backend selection
    return {"cpus": pinned, "threads": threads,
            "numpy_loaded_before": "numpy" in sys.modules}


def threads() -> int:
    """The thread count every library gets: the number of CPUs the process may use."""
    return len(usable_cpus())


def limit_loaded() -> dict[str, Any]:
    """Limit the pools already loaded (threadpoolctl; ``torch.set_num_threads``) to threads()."""
    n = threads()
    applied: dict[str, Any] = {"threads": n}
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        applied["threadpoolctl"] = "not installed: the environment variables alone apply"
    else:
        _LIMITS.append(threadpool_limits(limits=n))
        applied["threadpoolctl"] = f"threadpool_limits(limits={n})"
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
        applied["torch"] = f"torch.set_num_threads({n})"
    return applied


def blas_info() -> list[dict[str, Any]]:
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries (empty without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "num_threads", "version", "architecture",
            "threading_layer", "filepath")
    return [{k: lib.get(k) for k in keep if k in lib} for lib in threadpool_info()]


def numpy_blas() -> dict[str, Any]:
    """NumPy's own account of the BLAS it was built with (``np.show_config``)."""
    np = sys.modules.get("numpy")
    if np is None:
        return {}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception as e:  # older NumPy: no dict mode
        return {"error": f"{type(e).__name__}: {e}"}
    return {k: blas.get(k) for k in ("name", "version", "openblas configuration") if k in blas}


def os_threads() -> dict[str, int]:
    """The threads of this process by the name the OS lists them under (Linux)."""
    counts: collections.Counter = collections.Counter()
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/comm") as fh:
                counts[fh.read().strip()] += 1
    except OSError:
        return {}
    return dict(sorted(counts.items()))


def observe() -> dict[str, Any]:
    """What each loaded library says it uses: CPUs, BLAS/OpenMP pools, PyTorch, JAX."""
    seen: dict[str, Any] = {
        "affinity": usable_cpus(),
        "environment": {k: os.environ.get(k) for k in (*THREAD_VARS, "JAX_PLATFORMS",
                                                       "XLA_FLAGS")},
        "threadpoolctl": [{k: lib.get(k) for k in ("user_api", "internal_api", "num_threads",
                                                   "filepath")} for lib in blas_info()],
        "numpy_blas": numpy_blas(),
        "os_threads": os_threads(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        seen["torch"] = {"get_num_threads": torch.get_num_threads(),
                         "get_num_interop_threads": torch.get_num_interop_threads(),
                         "parallel_info": [line.strip() for line in
                                           torch.__config__.parallel_info().splitlines()
                                           if "threads" in line or "backend" in line]}
    jax = sys.modules.get("jax")
    if jax is not None:
        seen["jax"] = {"devices": [str(d) for d in jax.devices()],
                       "default_backend": jax.default_backend(),
                       "xla_pool_threads": seen["os_threads"].get(XLA_POOL_THREAD)}
    return seen


def fairness(seen: dict[str, Any]) -> dict[str, bool]:
    """Checks that every pool the run observed has one thread per pinned CPU."""
    n = len(seen["affinity"])
    checks = {f"{lib['internal_api']} ({lib['user_api']}) reports {n} threads":
              lib["num_threads"] == n for lib in seen["threadpoolctl"]}
    if "torch" in seen:
        checks[f"torch.get_num_threads() is {n}"] = seen["torch"]["get_num_threads"] == n
    if "jax" in seen and seen["jax"]["xla_pool_threads"] is not None:
        checks[f"XLA:CPU's pool has {n} threads"] = seen["jax"]["xla_pool_threads"] == n
    checks["no XLA_FLAGS in the environment"] = not seen["environment"]["XLA_FLAGS"]
    return checks


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


def import_peer(name: str) -> tuple[Any, str]:
    """(module, "") for an importable peer, else (None, why it is skipped)."""
    try:
        if name == "torch":
            import torch

            torch.set_num_threads(threads())
            return torch, ""
        if name == "jax":
            os.environ.setdefault("JAX_PLATFORMS", "cpu")
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
    versions = {"python": platform.python_version()}
    for dist in ("numpy", "dagrad", "torch", "jax", "jaxlib", "micrograd", "threadpoolctl"):
        versions[dist] = _version(dist)
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(usable_cpus()),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": versions,
        "blas": blas_info(),
        "blas_env_unset": os.environ.get(UNSET_NOTE, ""),
        "blas_env_present": {k: os.environ[k] for k in BLAS_ENV if k in os.environ},
    }
