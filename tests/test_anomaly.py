"""detect_anomaly: the first NaN/inf raises, naming the op, its shapes and the user's line."""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg
from dagrad.anomaly import AnomalyError


def test_forward_nan_names_op_shapes_and_line():
    x = dg.tensor([1.0, -1.0], requires_grad=True)
    with dg.detect_anomaly():
        with pytest.raises(AnomalyError) as e:
            y = dg.sqrt(x)  # the line that must be named  # noqa: F841
    msg = str(e.value)
    assert "op 'sqrt'" in msg and "(2,)" in msg and "nan" in msg
    assert "test_anomaly.py" in msg and "the line that must be named" in msg


def test_backward_inf_names_the_op_created_by_the_user():
    x = dg.tensor([4.0, 0.0], requires_grad=True)
    with dg.detect_anomaly():
        z = dg.sqrt(x) * 3  # finite forward, infinite derivative at 0
        with pytest.raises(AnomalyError) as e:
            z.sum().backward()
    msg = str(e.value)
    assert "backward pass of op 'sqrt'" in msg and "inf" in msg
    assert "z = dg.sqrt(x) * 3" in msg


def test_nan_from_a_leaf_is_traced_to_the_leaf():
    x = dg.tensor([np.nan, 1.0], requires_grad=True, name="pixels")
    with dg.detect_anomaly(), pytest.raises(AnomalyError, match="leaf 'pixels'"):
        dg.tanh(x)


def test_clean_computation_passes_and_mode_is_switched_off_after():
    x = dg.tensor([0.5, 2.0], requires_grad=True)
    with dg.detect_anomaly():
        (dg.log(x) * dg.tanh(x)).sum().backward()
    assert np.isfinite(x.grad.data).all()
    assert not dg.ops.HOOKS
    y = dg.log(dg.tensor([0.0]))  # outside: no error, the value is just -inf
    assert np.isneginf(y.data[0])
