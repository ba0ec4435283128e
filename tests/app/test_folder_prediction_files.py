"""`zsad predict`'s files: rows written as images finish, reruns that skip what is done, odd file names."""

import csv
import os
import shutil
import threading

import pytest
from PIL import Image

from tests.app.fakes import BrightnessDetector
from zsad_desktop.app.prediction.folder_prediction import predict_folder

BAD_NAME = os.fsdecode(b"bad\xffname.png")  # not UTF-8: Python's surrogateescape'd str


def rows_of(out):
    with open(out / "scores.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def folder(tmp_path, shared_data):
    target = tmp_path / "in"
    target.mkdir()
    for index, path in enumerate(
        sorted((shared_data / "mvtec_ad" / "hazelnut" / "test").glob("*/*.png"))[:6]
    ):
        shutil.copy(path, target / f"{index:03d}.png")
    return target


class StopAfter(BrightnessDetector):
    """Fails on its `fail_at`-th call, as a crash or a kill would interrupt the run."""

    def __init__(self, fail_at):
        super().__init__()
        self.fail_at = fail_at

    def predict(self, images):
        if self.calls + len(images) > self.fail_at:
            raise RuntimeError("killed")
        return super().predict(images)


def test_a_name_that_is_not_utf8_is_scored_and_written_readably(folder, tmp_path):
    shutil.copy(folder / "000.png", folder / BAD_NAME)
    result = predict_folder(BrightnessDetector(), folder, tmp_path / "out", batch_size=2)
    assert len(result.scored) == 7 and not result.failed
    rows = {row["path"]: row for row in rows_of(tmp_path / "out")}
    assert rows["bad\ufffdFFname.png"]["score"] == rows["000.png"]["score"]
    assert (tmp_path / "out" / os.fsdecode(b"bad\xffname_heatmap.png")).is_file()  # beside its source's name


def test_rows_are_there_as_images_finish_and_a_rerun_scores_only_the_rest(folder, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="killed"):
        predict_folder(StopAfter(fail_at=4), folder, out, batch_size=2)
    assert sorted(row["path"] for row in rows_of(out)) == ["000.png", "001.png", "002.png", "003.png"]

    again = BrightnessDetector()
    result = predict_folder(again, folder, out, batch_size=2)
    assert again.calls == 2 and len(result.scored) == 2 and result.already_done == 4
    assert result.summary() == "2 images scored, 4 already done, 0 skipped"
    rows = rows_of(out)
    assert sorted(row["path"] for row in rows) == [f"{i:03d}.png" for i in range(6)]  # each once

    third = BrightnessDetector()
    assert predict_folder(third, folder, out).already_done == 6 and third.calls == 0
    assert len(rows_of(out)) == 6


def test_a_cancelled_run_keeps_its_rows_and_another_model_is_scored_anew(folder, tmp_path):
    out, cancel = tmp_path / "out", threading.Event()
    result = predict_folder(
        BrightnessDetector(),
        folder,
        out,
        batch_size=2,
        progress=lambda done, total: done >= 2 and cancel.set(),
        cancel=cancel,
    )
    assert result.cancelled and len(rows_of(out)) == len(result.scored) == 2
    other = BrightnessDetector(version="v2")
    assert predict_folder(other, folder, out).already_done == 0 and other.calls == 6
    assert len(rows_of(out)) == 8


def test_a_row_cut_off_by_a_kill_and_skipped_files_are_redone_once(folder, tmp_path):
    out = tmp_path / "out"
    (folder / "broken.png").write_bytes(b"not a png")
    predict_folder(BrightnessDetector(), folder, out)
    text = (out / "scores.csv").read_text()
    (out / "scores.csv").write_text(text + "005.png,,0.12")  # torn: the kill came mid-row
    again = BrightnessDetector()
    result = predict_folder(again, folder, out)
    assert again.calls == 0 and result.already_done == 6 and len(result.failed) == 1
    rows = rows_of(out)
    assert len(rows) == 7 and [row["path"] for row in rows if row["error"]] == ["broken.png"]
    assert "0.12\n" not in (out / "scores.csv").read_text()


def test_the_summary_line_says_what_was_already_done(folder, tmp_path, capsys, monkeypatch):
    from zsad_desktop import cli
    from zsad_desktop.cli import folder_commands

    detector = BrightnessDetector()
    detector.batch_size = 4
    monkeypatch.setattr(folder_commands, "build_detector", lambda args: detector)
    Image.new("RGB", (40, 30)).save(
        folder / "frames.gif", save_all=True, append_images=[Image.new("RGB", (40, 30), "red")]
    )
    assert cli.main(["predict", str(folder), "--out", str(tmp_path / "out")]) == 0
    assert "7 images scored, 0 already done, 0 skipped" in capsys.readouterr().out
    assert cli.main(["predict", str(folder), "--out", str(tmp_path / "out")]) == 0
    assert "0 images scored, 7 already done, 0 skipped" in capsys.readouterr().out


def test_files_that_cannot_be_scored_have_a_row_with_the_reason(folder, tmp_path):
    os.symlink(tmp_path / "gone.png", folder / "dangling.png")
    os.mkfifo(folder / "pipe.png")
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("white", "black")]
    frames[0].save(folder / "moving.gif", save_all=True, append_images=frames[1:])
    frames[0].save(folder / "still.webp")
    result = predict_folder(BrightnessDetector(), folder, tmp_path / "out")
    assert len(result.scored) == 8 and len(result.failed) == 2
    rows = {row["path"]: row for row in rows_of(tmp_path / "out")}
    assert (
        rows["dangling.png"]["error"].startswith("broken symbolic link") and not rows["dangling.png"]["score"]
    )
    assert rows["pipe.png"]["error"].startswith("not a regular file")
    assert float(rows["moving.gif"]["score"]) == pytest.approx(1.0)  # its first, white frame
    assert float(rows["still.webp"]["score"]) == pytest.approx(1.0, abs=0.01)


def test_an_output_folder_holding_another_folders_scores_is_refused(folder, tmp_path):
    predict_folder(BrightnessDetector(), folder, tmp_path / "out")
    other = tmp_path / "other"
    shutil.copytree(folder, other)  # the same relative names: they would pass for done
    with pytest.raises(FileExistsError, match="holds the scores of"):
        predict_folder(BrightnessDetector(), other, tmp_path / "out")
    assert len(rows_of(tmp_path / "out")) == 6  # nothing lost


def test_images_sharing_a_name_keep_apart_heatmaps_and_an_output_inside_the_folder_is_not_scored(folder):
    Image.new("RGB", (40, 30), "white").save(folder / "000.gif")
    out = folder / "results"
    assert len(predict_folder(BrightnessDetector(), folder, out).scored) == 7
    assert (out / "000.png_heatmap.png").is_file() and (out / "000.gif_heatmap.png").is_file()
    assert (out / "001_heatmap.png").is_file()  # a name of its own keeps the usual file name
    again = predict_folder(BrightnessDetector(), folder, out)
    assert (
        again.already_done == 7 and not again.scored and not again.failed
    )  # its own heatmaps are not images
