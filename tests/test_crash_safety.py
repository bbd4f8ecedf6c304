"""A process killed (SIGKILL) in the middle of writing a checkpoint never loses the previous one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from dagrad.atomic import load_npz, save_npz

WRITER = textwrap.dedent("""
    import sys, numpy as np
    from dagrad.atomic import save_npz
    path = sys.argv[1]
    rng = np.random.default_rng(0)
    step = 1
    while True:
        w = np.full((1500, 1000), float(step))          # 12 MB: slow enough to be caught mid-write
        save_npz(path, weight=w, step=np.array(step))
        print(step, flush=True)
        step += 1
""")


def kill_during_writes(path: str, delays: list[float]) -> list[int]:
    """Start a writer, SIGKILL it after each delay; return the step found on disk after each."""
    found = []
    for delay in delays:
        proc = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE,
                                text=True)
        proc.stdout.readline()  # at least one complete checkpoint exists
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        data = load_npz(path)  # must load: the old file or the new one, never a torn one
        step = int(data["step"])
        assert np.all(data["weight"] == step), "checkpoint contents are torn"
        found.append(step)
    return found


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_mid_write_keeps_a_loadable_checkpoint(tmp_path):
    path = str(tmp_path / "ckpt.npz")
    steps = kill_during_writes(path, [0.0, 0.013, 0.031, 0.057, 0.09])
    assert all(s >= 1 for s in steps)
    # a killed writer may leave its hidden temp file behind (never a damaged ckpt.npz); the
    # next write sweeps it away
    save_npz(path, weight=np.zeros((2, 2)), step=np.array(0))
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []


def test_writer_exception_leaves_old_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_npz(path, weight=np.ones(3))
    with pytest.raises(ValueError):
        save_npz(path, weight=np.array([object()], dtype=object))
    np.testing.assert_array_equal(load_npz(path)["weight"], np.ones(3))
