"""dg.check.sizes: a student's chain of factor sizes against the sheet's chains (taken from the
exercise (c) explainer), with the sizes checked against PyTorch's Jacobians of each step."""

from __future__ import annotations

import pytest

import dagrad as dg
from dagrad.check.sizes import parse_sizes, sheet_chains

torch = pytest.importorskip("torch")


def _torch_shapes(sizes):
    """Sizes of J_L(z3), J_z3(z2), J_z2(z1), J_z1(x), J_z1(b1), J_o1(W1) by torch.autograd."""
    n0, n1, n2, n3 = sizes
    g = torch.Generator().manual_seed(0)
    W = [torch.randn(b, a, generator=g, dtype=torch.float64)
         for a, b in zip(sizes, sizes[1:], strict=False)]
    b1 = torch.zeros(n1, dtype=torch.float64)
    x = torch.randn(n0, generator=g, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian
    z1 = torch.tanh(W[0] @ x + b1)
    z2 = torch.tanh(W[1] @ z1)
    z3 = torch.softmax(W[2] @ z2, 0)
    shapes = {
        "L/z3": (1,) + tuple(jac(lambda z: -torch.log(z[0]), z3).shape),
        "z3/z2": tuple(jac(lambda z: torch.softmax(W[2] @ z, 0), z2).shape),
        "z2/z1": tuple(jac(lambda z: torch.tanh(W[1] @ z), z1).shape),
        "z1/x": tuple(jac(lambda v: torch.tanh(W[0] @ v + b1), x).shape),
        "z1/b1": tuple(jac(lambda b: torch.tanh(W[0] @ x + b), b1).shape),
        "o1/W1": tuple(jac(lambda w: w @ x + b1, W[0]).shape),
    }
    return shapes


def test_the_sheet_chains_have_pytorchs_sizes():
    sizes = (7, 5, 4, 3)
    t = _torch_shapes(sizes)
    chains = sheet_chains(sizes)
    assert [s for _, s in chains["grad_x"][0].factors] == [t["L/z3"], t["z3/z2"], t["z2/z1"],
                                                           t["z1/x"]]
    assert [s for _, s in chains["grad_b1"][0].factors][-1] == t["z1/b1"]
    w = chains["grad_W1"][0]
    n, a, b = t["o1/W1"]
    assert w.factors[-1][1] == (n, a * b) and w.result == (1, a * b)


def test_the_sheets_chain_is_right_and_the_result_size_is_checked():
    r = dg.check.sizes("grad_x", "1x10 · 10x256 · 256x256 · 256x784")
    assert r.ok and "∂z2/∂z1 (256×256)" in r.diagnosis[0]
    assert dg.check.sizes("grad_x", "1×10 · 10×256 · 256×256 · 256×784 → 1×784").ok
    assert dg.check.sizes("grad_b1", "1*10 @ 10*256 @ 256*256 @ 256*256").ok
    assert dg.check.sizes("grad_W1", "1x10 · 10x256 · 256x256 · 256x256 · 256x200,704").ok
    assert dg.check.sizes("grad_W1", "256x1 · 1x784").ok
    wrong_result = dg.check.sizes("grad_x", "1x10 · 10x256 · 256x256 · 256x784 = 1x700")
    assert not wrong_result.ok and "not the 1×700 you wrote" in wrong_result.diagnosis[-1]


def test_an_undefined_product_is_named():
    r = dg.check.sizes("grad_x", "1x10 · 10x256 · 784x256")
    assert not r.ok
    assert r.diagnosis[0] == ("the product is not defined: 10×256 cannot be followed by "
                              "784×256: 256 ≠ 784 (columns of the left factor against rows of "
                              "the right)")
    assert any("784×256 (its transpose) where the sheet has ∂z1/∂x (256×784)" in d
               for d in r.diagnosis)


def test_a_defined_chain_that_is_not_the_sheets_is_named():
    r = dg.check.sizes("grad_x", "1×10 · 10×256 · 256×784")
    assert not r.ok
    assert r.diagnosis == ["1×10 · 10×256 · 256×784 gives the right 1×784 but has no "
                           "∂z2/∂z1 (256×256)"]
    r2 = dg.check.sizes("grad_x", "1x10 · 10x256 · 256x256 · 256x256 · 256x784")
    assert not r2.ok and "has an extra 256×256" in "\n".join(r2.diagnosis)
    r3 = dg.check.sizes("grad_b1", "1x10 · 10x256 · 256x256 · 256x784")
    assert not r3.ok and "gives 1×784, but ∇b1 L is 1×256" in r3.diagnosis[0]


def test_other_layer_sizes():
    assert dg.check.sizes("grad_x", "1x10 10x128 128x784", layer_sizes=(784, 128, 10)).ok
    assert not dg.check.sizes("grad_x", "1x10 · 10x256 · 256x256 · 256x784",
                              layer_sizes=(784, 128, 10)).ok


@pytest.mark.parametrize("text, message", [
    ("", "empty"), ("J 1x10", "cannot read 'J'"), ("1x10 · 10x", "cannot read"),
    ("1x10 · 0x3", "size of 0"), ("1x10 → 1y", "is not a size"),
])
def test_unreadable_sizes_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_sizes(text)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="--quantity"):
        dg.check.sizes("grad_z", "1x10")
    with pytest.raises(ValueError, match="--sizes-of"):
        dg.check.sizes("grad_x", "1x10", layer_sizes=(5,))
