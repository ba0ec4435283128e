"""A folder on a network share keeps its reviews on this computer, says so once, and never gets WAL."""

import sqlite3
from collections import namedtuple

import pytest
from sqlalchemy import text

from zsad_desktop import cli
from zsad_desktop.app.workspace.location import Placement
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import open_database, sqlite_url
from zsad_desktop.store.filesystems import filesystem_of

Partition = namedtuple("Partition", "device mountpoint fstype opts")


@pytest.fixture
def share(tmp_path, monkeypatch):
    """`tmp_path/share` reported as an NFS mount, the per-user data folder under `tmp_path/home`."""
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"")
    partitions = [
        Partition("/dev/vda", "/", "ext4", "rw,relatime"),
        Partition("fileserver:/export/images", str(folder), "nfs4", "rw,relatime,vers=4.2"),
    ]
    monkeypatch.setattr("zsad_desktop.store.filesystems.psutil.disk_partitions", lambda all=False: partitions)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))
    return folder


def _journal_mode(workspace):
    with workspace.database.engine.connect() as connection:
        return connection.execute(text("PRAGMA journal_mode")).scalar()


def test_a_folder_on_nfs_gets_a_local_database_and_the_message(share, tmp_path):
    with Workspace.open(share) as workspace:
        assert workspace.location.placement is Placement.SHARE_LOCAL
        assert workspace.files.root.is_relative_to(tmp_path / "home")
        assert workspace.database.file.is_relative_to(tmp_path / "home")
        notice = workspace.location.notice()
        assert "network share (nfs4)" in notice and "postgresql+psycopg2://" in notice
        assert str(workspace.files.root) in workspace.location.description()
        assert _journal_mode(workspace) == "wal"  # local disk: WAL as usual
    assert not (share / ".zsad").exists()


def test_the_cli_says_it_once(share, capsys):
    assert cli.main(["scan", str(share)]) == 0
    err = capsys.readouterr().err
    assert err.count("network share (nfs4)") == 1 and "--db postgresql+psycopg2://" in err


def test_the_cluster_command_says_it_too(share, capsys, monkeypatch):
    pytest.importorskip("ray")

    def stop(workspace, *_args, **_kwargs):
        raise RuntimeError(f"stopped before scoring {workspace.folder.name}")

    monkeypatch.setattr("zsad_desktop.app.cluster.cluster_run.score_on_cluster", stop)
    with pytest.raises(RuntimeError, match="stopped before scoring share"):
        cli.main(["predict", str(share), "--cluster", "auto", "--pretrained", "random"])
    err = capsys.readouterr().err
    assert err.count("network share (nfs4)") == 1


def test_keeping_it_on_the_share_is_deliberate_and_never_wal(share):
    with Workspace.open(share, keep_on_share=True) as workspace:
        assert workspace.location.placement is Placement.ON_SHARE
        assert workspace.database.file.parent == share / ".zsad"
        assert workspace.database.on_share and _journal_mode(workspace) == "delete"
        assert "one reviewer at a time" in workspace.location.notice()
    # the reviews are there now: later opens use them, still without WAL
    with Workspace.open(share) as workspace:
        assert workspace.location.placement is Placement.ON_SHARE and _journal_mode(workspace) == "delete"


def test_an_older_wal_database_on_a_share_is_switched_off_wal(share):
    database_file = share / ".zsad" / "reviews.sqlite"
    open_database(sqlite_url(database_file)).dispose()  # as an earlier version left it
    with sqlite3.connect(database_file) as connection:
        assert connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    with Workspace.open(share) as workspace:
        assert workspace.location.placement is Placement.ON_SHARE  # where its reviews are
        assert _journal_mode(workspace) == "delete"


def test_a_chosen_data_folder_wins(share, tmp_path):
    chosen = tmp_path / "chosen"
    with Workspace.open(share, data_dir=chosen) as workspace:
        assert workspace.location.placement is Placement.CHOSEN and workspace.files.root == chosen
        assert workspace.location.notice() is None


def test_filesystems_are_told_apart_by_type_options_and_device(monkeypatch, tmp_path):
    cases = {
        ("//nas/scans", "cifs", "rw"): True,
        ("user@host:/data", "fuse.sshfs", "rw"): True,
        ("D:\\", "NTFS", "rw,remote"): True,
        ("/dev/sda1", "ext4", "rw"): False,
        ("tmpfs", "tmpfs", "rw"): False,
    }
    for (device, fstype, opts), network in cases.items():
        parts = [Partition(device, str(tmp_path), fstype, opts)]
        monkeypatch.setattr(
            "zsad_desktop.store.filesystems.psutil.disk_partitions", lambda all=False, p=parts: p
        )
        assert filesystem_of(tmp_path / "not yet").is_network is network, fstype


def test_this_machines_own_disk_is_no_share(tmp_path):
    found = filesystem_of(tmp_path)
    assert found is not None and not found.is_network
