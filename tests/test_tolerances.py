"""The reference tests' tolerances: each kind bounds what it says and fails past it."""

import numpy as np
import pytest
import torch

from tests.tolerances import assert_close_to_scale, assert_kernels_agree, assert_relative


def test_element_wise_tolerance_scales_with_the_largest_reference_value():
    want = np.array([0.0, 1.0, -200.0])
    assert assert_close_to_scale(want + [0.0, 1e-3, 0.0], want, 1e-5) == pytest.approx(5e-6)
    with pytest.raises(AssertionError, match=r"max \|diff\| 1.00e-02 > 1e-05 x max \|ref\| 200"):
        assert_close_to_scale(want + [0.0, 1e-2, 0.0], want, 1e-5, "tokens")
    with pytest.raises(AssertionError, match="shape"):
        assert_close_to_scale(torch.zeros(2), torch.zeros(3), 1.0)


def test_sums_are_compared_relative_to_their_size():
    assert assert_relative(2.232548, 2.232560, 1e-5) < 1e-5  # a sum off by 1.2e-5: a share of 5e-6
    with pytest.raises(AssertionError, match="grid sum: 1.0 .* 1.1, relative difference 9.09e-02"):
        assert_relative([2.0, 1.0], [2.0, 1.1], 1e-3, "grid sum")


def test_kernel_bounds_are_absolute(tmp_path, monkeypatch):
    log = tmp_path / "observed.tsv"
    monkeypatch.setenv("ZSAD_TOLERANCE_LOG", str(log))
    assert assert_kernels_agree([0.5, 0.25], [0.5, 0.25 + 2e-6], 1e-5, "maps") == pytest.approx(2e-6)
    with pytest.raises(AssertionError, match="measured bound 1e-06"):
        assert_kernels_agree([0.5], [0.5 + 2e-6], 1e-6, "scores")
    lines = [line.split("\t") for line in log.read_text().splitlines()]
    assert [(line[1], line[2], line[4]) for line in lines] == [
        ("maps", "measured", "1.000e-05"),
        ("scores", "measured", "1.000e-06"),
    ]
    assert lines[0][0].endswith("test_kernel_bounds_are_absolute")
