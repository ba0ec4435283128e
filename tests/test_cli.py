"""The command line as a user runs it: train a model on a dataset, evaluate it, index a folder, make demo data."""

import json
import shutil

import pytest

from tests.conftest import TINY
from zsad_desktop import cli

TINY_OPTIONS = ["--model-name", TINY, "--pretrained", "random", "--image-size", "112", "--device", "cpu"]


@pytest.fixture(scope="module")
def hazelnut(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("data") / "hazelnut"
    shutil.copytree(shared_data / "mvtec_ad" / "hazelnut", root)
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory, hazelnut):
    out = tmp_path_factory.mktemp("models") / "crane-hazelnut"
    args = [
        "train",
        "--data",
        str(hazelnut),
        "--method",
        "crane",
        "--epochs",
        "1",
        "--held-out",
        "0.3",
        "--out",
        str(out),
        *TINY_OPTIONS,
    ]
    return out, args


def test_train_writes_a_model_and_reports_each_epoch_and_the_held_out_metrics(trained, capsys):
    out, args = trained
    assert cli.main(args) == 0
    printed = capsys.readouterr()
    assert (out / "model.json").is_file()
    assert "epoch 1/1:" in printed.out + printed.err  # the per-epoch line with the held-out numbers
    held_out = [line for line in printed.out.splitlines() if line.startswith("held-out:")]
    assert held_out and "image_auroc" in held_out[0]


def test_eval_of_the_trained_model_writes_metrics_between_zero_and_one(trained, hazelnut, tmp_path, capsys):
    out, args = trained
    if not (out / "model.json").is_file():
        assert cli.main(args) == 0
    report = tmp_path / "metrics.json"
    assert (
        cli.main(["eval", str(hazelnut), "--model", str(out), "--json", str(report), "--device", "cpu"]) == 0
    )
    metrics = json.loads(report.read_text())
    values = [v for v in _numbers(metrics)]
    assert values and all(0.0 <= v <= 1.0 for v in values)


def test_scan_indexes_a_folder_and_reports_an_unreadable_file(hazelnut, tmp_path, capsys):
    folder = tmp_path / "images"
    shutil.copytree(hazelnut / "test" / "crack", folder)
    (folder / "broken.png").write_bytes(b"not a png")
    assert cli.main(["scan", str(folder)]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith("3 images: 3 new") and "broken.png: not a readable image" in printed.err


def test_a_missing_weights_file_is_a_clear_message_not_a_traceback(tmp_path, capsys):
    missing = tmp_path / "nowhere" / "ViT-L-14-336.pt"
    code = cli.main(["eval", str(tmp_path), "--pretrained", str(missing), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and "Traceback" not in err


def _numbers(value):
    if isinstance(value, dict):
        for inner in value.values():
            yield from _numbers(inner)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield float(value)


def test_predict_into_an_existing_file_says_so_and_leaves_it(tmp_path, capsys):
    (tmp_path / "images").mkdir()
    taken = tmp_path / "scores.csv"
    taken.write_text("kept")
    for out in (taken, taken / "inside"):
        assert cli.main(["predict", str(tmp_path / "images"), "--out", str(out), *TINY_OPTIONS]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --out") and "a file" in err and "folder" in err, err
        assert len(err.strip().splitlines()) == 1 and "Errno" not in err
    assert taken.read_text() == "kept"
