"""The benchmark suite: smoke runs, fair thread set-up, and a roofline of the step's own GEMMs."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the benchmarks package lives beside src/, not inside it

from benchmarks import mlp, model  # noqa: E402

SIZES = (784, 256, 256, 10)


def _environ(**extra: str) -> dict[str, str]:
    env = dict(os.environ)  # passed through unchanged (OpenBLAS variables included)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("XLA_FLAGS", None)
    env.update(extra)
    return env


def _one_cpu() -> int:
    return sorted(os.sched_getaffinity(0))[-1]


def _smoke(tmp_path: Path, *extra: str) -> dict:
    """Run ``python -m benchmarks --smoke`` in a subprocess; return its JSON results."""
    out = tmp_path / "smoke.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--json", str(out),
                           *extra], cwd=ROOT, env=_environ(), capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def _times(node) -> list[float]:
    """Every per-call time in a result tree."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k in ("median_s", "min_s", "max_s")]
        for v in node.values():
            found += _times(v)
        return found
    return []


def _assert_sane(res: dict) -> None:
    for name, r in res.items():
        if name in ("meta", "targets"):
            continue
        assert "error" not in r, (name, r.get("traceback"))
        assert all(r["checks"].values()), (name, r["checks"])
        ts = _times(r)
        assert all(math.isfinite(t) and t > 0 for t in ts), (name, ts)
        for ratio in r.get("ratios", {}).values():
            assert math.isfinite(ratio) and ratio > 0


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_smoke_scalar_workloads_pinned_to_one_cpu(tmp_path):
    cpu = _one_cpu()
    res = _smoke(tmp_path, "--only", "rosenbrock,chain,import", "--peers", "micrograd",
                 "--cpus", str(cpu))
    _assert_sane(res)
    assert set(res) == {"meta", "rosenbrock", "chain", "import", "targets"}
    assert res["rosenbrock"]["gradients"]["dagrad"] == pytest.approx((151.0, -50.0))
    assert res["chain"]["long"]["dh_dw_n"] > 0
    assert res["meta"]["mode"] == "smoke"
    par = res["meta"]["parallelism"]
    assert par["observed"]["affinity"] == [cpu]
    assert par["threads"] == 1
    assert [lib["num_threads"] for lib in par["observed"]["threadpoolctl"]] == \
        [1] * len(par["observed"]["threadpoolctl"])
    assert par["observed"]["environment"]["XLA_FLAGS"] is None
    assert all(par["checks"].values()), par["checks"]


PROBE = """
import json, os
from benchmarks import env
env.setup({cpus})
import numpy
env.limit_loaded()
out = {{"xla_flags_after_setup": os.environ.get("XLA_FLAGS")}}
torch, why = env.import_peer("torch")
jax, why2 = env.import_peer("jax")
env.limit_loaded()
if jax is not None:
    jax.block_until_ready(jax.jit(lambda a: a @ a)(jax.numpy.ones((64, 64))))
out["xla_flags_after_peers"] = os.environ.get("XLA_FLAGS")
out["seen"] = env.observe()
out["checks"] = env.fairness(out["seen"])
print(json.dumps(out))
"""


def _probe(cpus) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(cpus=cpus)], cwd=ROOT,
                          env=_environ(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_env_setup_sets_no_xla_flags():
    out = _probe(None)
    assert out["xla_flags_after_setup"] is None
    assert out["xla_flags_after_peers"] is None
    assert out["checks"]["no XLA_FLAGS in the environment"]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_pinning_gives_every_library_one_thread_per_cpu():
    cpu = _one_cpu()
    out = _probe([cpu])
    seen = out["seen"]
    assert seen["affinity"] == [cpu]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        assert seen["environment"][var] == "1"
    blas = [lib for lib in seen["threadpoolctl"] if lib["user_api"] == "blas"]
    assert blas and all(lib["num_threads"] == 1 for lib in blas)
    if "torch" in seen:
        assert seen["torch"]["get_num_threads"] == 1
    if "jax" in seen:  # XLA:CPU sizes its pool from the affinity set alone
        assert seen["jax"]["xla_pool_threads"] == 1
    assert all(out["checks"].values()), out["checks"]


def _hand_derived_gemms(b: int) -> Counter:
    """(m, k, n) of every GEMM of one SGD step of the 784-256-256-10 MLP, written out by hand."""
    return Counter([
        (b, 784, 256), (b, 256, 256), (b, 256, 10),      # forward: x W1ᵀ, h1 W2ᵀ, h2 W3ᵀ
        (10, b, 256), (256, b, 256), (256, b, 784),      # weight gradients: gᵀ h
        (b, 10, 256), (b, 256, 256),                     # input gradients of layers 3 and 2
    ])


@pytest.mark.parametrize("b", [8, 32, 512])
def test_roofline_cases_are_the_training_step_gemms(b):
    cases = model.gemm_cases(b, SIZES)
    assert Counter((c["m"], c["k"], c["n"]) for c in cases) == _hand_derived_gemms(b)
    flops = sum(2 * m * k * n for (m, k, n) in _hand_derived_gemms(b).elements())
    assert model.flops_per_step(b, SIZES) == flops


def test_roofline_gemms_agree_with_pytorchs_training_step():
    """The GEMMs PyTorch runs for the same step (its profiler's shapes) are the roofline's."""
    torch = pytest.importorskip("torch")
    from torch.profiler import ProfilerActivity, profile

    b = 16
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.Tanh(),
                              torch.nn.Linear(256, 256), torch.nn.Tanh(),
                              torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    x, y = torch.randn(b, 784), torch.randint(0, 10, (b,))
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    seen = Counter()
    for e in prof.events():
        if e.name == "aten::mm":
            (m, k), (_, n) = e.input_shapes[:2]
            seen[(m, k, n)] += 1
        elif e.name == "aten::addmm":
            (m, k), (_, n) = e.input_shapes[1:3]
            seen[(m, k, n)] += 1
    assert seen == Counter((c["m"], c["k"], c["n"]) for c in model.gemm_cases(b, SIZES))


def test_roofline_call_runs_exactly_those_gemms(monkeypatch):
    calls = []
    real = np.matmul

    def recording(a, b, out=None):
        calls.append((a.shape, b.shape))
        return real(a, b, out=out)

    monkeypatch.setattr(np, "matmul", recording)
    run, cases = mlp.gemm_roofline(8, tries=1, sizes=SIZES)
    calls.clear()
    run()
    got = Counter()
    for (m, k), (_, n) in calls:  # C = A·B, or Cᵀ = Bᵀ·Aᵀ (then m and n swap)
        got[(m, k, n)] += 1
    want = Counter()
    for c in cases:
        want[(c["m"], c["k"], c["n"]) if c["form"].startswith("C =") else
             (c["n"], c["k"], c["m"])] += 1
    assert len(calls) == sum(_hand_derived_gemms(8).values()) == 8
    assert got == want


@pytest.mark.slow
def test_smoke_every_workload(tmp_path):
    watched = [ROOT / "docs" / "benchmarks.md", ROOT / "docs" / "benchmarks.json",
               ROOT / "README.md"]
    before = [p.stat().st_mtime if p.exists() else None for p in watched]
    res = _smoke(tmp_path)
    _assert_sane(res)
    assert {"mlp", "rosenbrock", "chain", "jacobian", "persample", "fresh", "memory", "import",
            "profile", "compile_profile", "compile_scaling", "training"} <= set(res)
    prof = next(iter(res["compile_profile"]["batches"].values()))
    assert any(row["kind"].startswith("GEMM") for row in prof["rows"])
    assert abs(sum(row["us"] for row in prof["rows"]) - prof["call_us"]) <= 1e-6 * prof["call_us"]
    from benchmarks.compile_profile import section
    assert f"{prof['call_us']:,.0f} µs" in "\n".join(section(res["compile_profile"]))
    mlp_row = next(iter(res["mlp"]["batches"].values()))
    assert {"dagrad", "numpy", "gemm roofline"} <= set(mlp_row["backends"])
    assert mlp_row["gemm_counts"]["total"] == len(mlp_row["gemms"])
    # eager linear's timed GEMM form at this batch, recorded and reported (smoke: B = 8)
    assert set(mlp_row["linear_forms"]) == {"8×784 · 784×256"}
    from benchmarks.report import _mlp
    assert "8×784 · 784×256 as " in "\n".join(_mlp(res["mlp"]))
    assert res["memory"]["backends"]["dagrad"]["maxrss_mib"] > 0
    after = [p.stat().st_mtime if p.exists() else None for p in watched]
    assert before == after  # smoke mode leaves the docs and the README alone


# --- issue 21: the training run against PyTorch, and the compile scaling ----------------------


def test_measured_child_reports_its_own_peak_rss_not_the_parents():
    from benchmarks import training

    ballast = bytearray(400 * 2**20)  # this process is now large; a child must not inherit it
    ballast[:: 4096] = b"x" * len(ballast[:: 4096])
    small = training.run_measured([sys.executable, "-c", "pass"], _environ(), timeout=120)
    big = training.run_measured([sys.executable, "-c", "b = bytearray(300 * 2**20); "
                                 "b[::4096] = b'x' * len(b[::4096])"], _environ(), timeout=120)
    del ballast
    assert small["returncode"] == big["returncode"] == 0
    assert 0 < small["maxrss_mib"] < 100, small
    assert 300 <= big["maxrss_mib"] < 400, big
    assert small["wall_s"] > 0 and big["wall_s"] > 0
    failed = training.run_measured([sys.executable, "-c", "raise SystemExit(3)"], _environ(),
                                   timeout=120)
    assert failed["returncode"] == 3 and "exit status 3" in failed["error"]


def test_training_commands_are_the_same_run_on_both_sides():
    from benchmarks import training

    cmds = training.commands("fashion-mnist", "/data", 15, None, "/tmp/out", True, "/i.npz")
    d, t = cmds["dagrad"], cmds["torch"]
    assert d[3:] == ["train", "--dataset", "fashion-mnist", "--epochs", "15", "--batch-size",
                     "128", "--no-progress", "-o", "/tmp/out"]
    assert t[1:3] == ["-m", "benchmarks.torch_train"]
    for flag, value in (("--epochs", "15"), ("--batch-size", "128"), ("--lr", "0.001"),
                        ("--hidden", "256,256"), ("--data", "/data"), ("--init", "/i.npz"),
                        ("--shuffle", "numpy")):
        assert t[t.index(flag) + 1] == value
    limited = training.commands("sample", None, 1, (64, 32), "/o", False)
    for cmd in limited.values():
        assert cmd[cmd.index("--limit-train") + 1] == "64"
        assert cmd[cmd.index("--limit-test") + 1] == "32"
    assert "--no-plots" in limited["dagrad"] and "--data" not in limited["torch"]


def test_training_workload_smoke_falls_back_to_the_embedded_sample(monkeypatch):
    pytest.importorskip("torch")
    from benchmarks import training
    from benchmarks.__main__ import Context
    from benchmarks.timing import PLANS

    monkeypatch.setattr(training, "fashion_mnist_dir", lambda: None)
    monkeypatch.setitem(training.LIMITS, "smoke", (256, 200))
    ctx = Context("smoke", PLANS["smoke"], {"torch": object()}, _environ())
    r = training.run(ctx)
    assert r["dataset"] == "sample" and (r["train"], r["test"]) == (256, 200)
    assert all(r["checks"].values()), r["checks"]
    for name in ("dagrad", "torch"):
        row = r["runs"][name][0]
        assert row["returncode"] == 0 and row["maxrss_mib"] > 0 and row["wall_s"] > 0
        assert 0.2 < row["test_acc"] <= 1
    assert r["time_ratio"] == pytest.approx(r["runs"]["dagrad"][0]["wall_s"]
                                            / r["runs"]["torch"][0]["wall_s"])
    # the same initial weights and epoch order: the two steps' mean loss agrees to rounding
    # (a different order or initialisation moves it by more than 1e-2)
    d_loss, t_loss = r["runs"]["dagrad"][0]["train_loss"], r["runs"]["torch"][0]["train_loss"]
    assert d_loss[0] == pytest.approx(t_loss[0], rel=1e-5)
    with pytest.raises(RuntimeError, match="only --smoke falls back"):
        training.run(Context("quick", PLANS["quick"], {"torch": object()}, _environ()))


def test_smoke_compile_scaling_and_training_workloads(tmp_path):
    res = _smoke(tmp_path, "--only", "compile_scaling,training", "--peers", "torch")
    _assert_sane(res)
    rows = res["compile_scaling"]["rows"]
    assert [r["links"] for r in rows] == [100, 1000]
    assert all(r["items"] > r["links"] and r["first_call_s"] > 0 for r in rows)
    assert all(r["peak_rss_mib"] < 300 for r in rows)  # the child's own, not the benchmark's
    tr = res["training"]
    if "skipped" not in tr:
        assert set(tr["runs"]) == {"dagrad", "torch"}
        assert tr["summary"]["dagrad"]["maxrss_mib"] > 0
        whats = [t["what"] for t in res["targets"]]
        assert any("peak RSS" in w and "dagrad train" in w for w in whats)
