"""The README's "When you outgrow dagrad" runs as written: the train command with its exports,
the Python conversion, plain-PyTorch loading, the DDP script (world size 1, gloo on the CPU, so
it is really executed; only the multi-process launch is left out) and ONNX Runtime serving.
Each code block is written to a file and run as a script; the outputs are checked against
dagrad's own model.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dagrad as dg

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## When you outgrow dagrad")
    end = text.index("\n## ", start + 10)
    return re.findall(r"```(\w+)\n(.*?)```", text[start:end], flags=re.S)


def _python(tmp: Path, name: str, code: str, env: dict | None = None) -> str:
    script = tmp / name
    script.write_text(code, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script)], cwd=tmp, capture_output=True, text=True,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                              **(env or {})},
                         timeout=600)
    assert run.returncode == 0, f"{name} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_outgrow_section_runs_as_written(tmp_path, monkeypatch):
    from dagrad.cli import main
    from dagrad.data import load_sample
    from dagrad.training import load_checkpoint
    from dagrad.training.run import model_from_checkpoint

    blocks = _blocks()
    kinds = [k for k, _ in blocks]
    assert kinds == ["sh", "python", "python", "python", "python"], kinds
    (_, sh), (_, convert), (_, plain), (_, ddp), (_, serve) = blocks
    monkeypatch.chdir(tmp_path)

    # 1. the command line (in this process; no progress bar)
    (line,) = [ln for ln in sh.splitlines() if ln.strip()]
    argv = shlex.split(line)
    assert argv[0] == "dagrad"
    assert main([*argv[1:], "--no-progress"]) == 0
    ck = load_checkpoint(tmp_path / "runs/mnist/checkpoint.npz")
    model = model_from_checkpoint(ck)
    images, labels = load_sample("test")
    x = ((images[:50].reshape(50, -1) / 255 - ck.config["mean"]) / ck.config["std"]).astype(
        np.float32)
    want = model(dg.tensor(x)).data
    np.save(tmp_path / "x.npy", x)

    # 2. the Python conversion block, then a check that its four results agree
    _python(tmp_path, "convert.py", convert + (
        "\nimport torch\nxs = np.load('x.npy')\nref = model(dg.tensor(xs)).data\n"
        "t = torch_model(torch.from_numpy(xs)).detach().numpy()\n"
        "np.testing.assert_allclose(t, ref, rtol=1e-5, atol=1e-5)\n"
        "np.testing.assert_array_equal(back(dg.tensor(xs)).data, ref)\n"
        "import onnxruntime as ort\n"
        "o = ort.InferenceSession('mlp.onnx').run(None, {'input': xs})[0]\n"
        "np.testing.assert_allclose(o, ref, rtol=1e-5, atol=1e-5)\n"
        "l = dg.interop.load_torch('mlp.pt')(torch.from_numpy(xs)).detach().numpy()\n"
        "np.testing.assert_allclose(l, ref, rtol=1e-5, atol=1e-5)\nprint('converted ok')\n"))

    # 3. plain PyTorch: the rebuilt model gives the dagrad model's outputs
    _python(tmp_path, "plain.py", plain + (
        "\nimport numpy as np\nwith torch.no_grad():\n"
        "    np.save('plain_out.npy', model(torch.from_numpy(np.load('x.npy'))).numpy())\n"))
    np.testing.assert_allclose(np.load(tmp_path / "plain_out.npy"), want, rtol=1e-5, atol=1e-5)

    # 4. DDP, one process (torchrun's environment for world size 1, gloo on the CPU)
    assert "torchrun" not in ddp and "DistributedDataParallel(" in ddp
    env = {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(_free_port()), "CUDA_VISIBLE_DEVICES": ""}
    _python(tmp_path, "ddp_train.py", ddp, env)
    trained = dg.interop.load_torch(tmp_path / "model_ddp.pt")
    before = dg.interop.load_torch(tmp_path / "model.pt")
    assert any(not torch.equal(a, b) for a, b in zip(trained.state_dict().values(),
                                                     before.state_dict().values(), strict=True))
    with torch.no_grad():
        acc = (trained(torch.from_numpy(x)).argmax(1).numpy() == labels[:50]).mean()
    assert acc > 0.6   # still a working classifier after two more epochs

    # 5. ONNX Runtime serving prints the accuracy of dagrad's model on the test set
    out = _python(tmp_path, "serve.py", serve)
    X_all = ((images.reshape(len(images), -1) / 255 - ck.config["mean"]) / ck.config["std"])
    dg_acc = (model(dg.tensor(X_all.astype(np.float32))).data.argmax(1) == labels).mean()
    assert f"ONNX Runtime test accuracy: {dg_acc:.4f}" in out
