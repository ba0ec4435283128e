"""What `zsad predict` says when Ray or a database is missing, before anything is loaded or scanned."""

from __future__ import annotations

import sys

import pytest

from zsad_desktop.app.cluster.ray_engine import ClusterUnavailable, connected, require_ray
from zsad_desktop.cli import main


def test_without_ray_the_command_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ClusterUnavailable, match=r"pip install -e '\.\[cluster\]'"):
        require_ray()
    assert main(["predict", str(tmp_path), "--cluster", "auto"]) == 2
    assert "pip install -e '.[cluster]'" in capsys.readouterr().err
    assert not (tmp_path / ".zsad").exists()  # refused before the workspace was made


def test_a_remote_cluster_needs_a_shared_database(tmp_path, capsys):
    pytest.importorskip("ray")
    assert main(["predict", str(tmp_path), "--cluster", "ray://head:10001"]) == 2
    assert "--db postgresql" in capsys.readouterr().err


def test_predict_without_out_or_cluster_is_refused(tmp_path, capsys):
    assert main(["predict", str(tmp_path)]) == 2
    assert "--out DIR" in capsys.readouterr().err


def test_an_address_that_is_no_cluster_is_refused():
    pytest.importorskip("ray")
    with pytest.raises(ClusterUnavailable, match="expected 'auto' or ray://"):
        with connected("head:10001"):
            pass
