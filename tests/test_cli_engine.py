"""`--engine` and `--precision` reach the detector the commands build."""

import argparse

import pytest

from tests.conftest import TINY
from zsad_desktop.cli.detector_options import add_detector_options, build_detector


def _args(*extra):
    parser = argparse.ArgumentParser()
    add_detector_options(parser)
    return parser.parse_args(
        ["--model-name", TINY, "--pretrained", "random", "--image-size", "56", "--device", "cpu", *extra]
    )


@pytest.mark.parametrize("engine", ["fast", "exact"])
def test_engine_and_precision_options_build_that_detector(engine):
    detector = build_detector(_args("--engine", engine, "--precision", "float32"))
    assert detector.execution.engine == engine and detector.execution.precision == "float32"


def test_without_the_options_the_defaults():
    detector = build_detector(_args())
    assert detector.execution.engine == "fast" and detector.execution.precision == "auto"


def test_an_unknown_engine_is_refused():
    with pytest.raises(SystemExit):
        _args("--engine", "turbo")


def test_the_command_says_which_precision_it_runs(monkeypatch):
    from zsad_desktop.cli.detector_options import execution_line
    from zsad_desktop.detection import execution

    monkeypatch.setattr(execution, "cpu_supports_bf16", lambda: True)
    line = execution_line(build_detector(_args()))
    assert line.startswith("baseline on cpu: fast engine, bfloat16") and "--precision float32" in line
    monkeypatch.setattr(execution, "cpu_supports_bf16", lambda: False)
    assert execution_line(build_detector(_args())) == "baseline on cpu: fast engine, float32"
    assert (
        execution_line(build_detector(_args("--engine", "exact"))) == "baseline on cpu: exact engine, float32"
    )
