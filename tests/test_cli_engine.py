"""`--engine` and `--precision` reach the detector the commands build."""

import argparse

import pytest

from tests.conftest import TINY
from zsad_desktop.cli.detector_options import add_detector_options, build_detector


def _args(*extra):
    parser = argparse.ArgumentParser()
    add_detector_options(parser)
    return parser.parse_args(["--model-name", TINY, "--pretrained", "random", "--image-size", "56", "--device", "cpu",
                              *extra])


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
