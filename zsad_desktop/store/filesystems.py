"""Which filesystem a path is on, and whether it is a network share.

SQLite's WAL needs memory shared by every process that opens the database, on
one host, and file locks over NFS and SMB are unreliable: a database on a share
is how two reviewers on two machines corrupt it. The workspace therefore keeps
its database on a local disk when the image folder is on a share, and the
store never turns WAL on for a file on one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psutil

#: filesystem types of network shares, as Linux (`/proc/mounts`), macOS and the BSDs name them
NETWORK_TYPES = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "ncpfs",
        "afpfs",
        "afs",
        "webdav",
        "davfs",
        "9p",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "fuse.sshfs",
        "sshfs",
        "fuse.rclone",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "fuse.glusterfs",
        "fuse.cephfs",
        "fuse.smbnetfs",
        "fuse.davfs",
    }
)


@dataclass(frozen=True)
class Filesystem:
    mountpoint: str
    fstype: str
    device: str
    is_network: bool


def _network(fstype: str, device: str, opts: str) -> bool:
    fstype = fstype.lower()
    if fstype in NETWORK_TYPES:
        return True
    # Windows names a mapped drive's type "NTFS" like a local one and says "remote" in its options.
    if "remote" in opts.split(","):
        return True
    # A UNC path or host:path device is a share whatever the type is called (fuse.<anything> over ssh).
    return device.startswith(("\\\\", "//")) or (fstype.startswith("fuse") and ":" in device)


def filesystem_of(path: Path | str) -> Filesystem | None:
    """The mounted filesystem holding `path` (its nearest existing folder), or None when unknown."""
    path = Path(path).expanduser()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        target = os.path.realpath(path)
        partitions = psutil.disk_partitions(all=True)
    except (OSError, RuntimeError):
        return None
    best = None
    for part in partitions:
        mount = part.mountpoint
        inside = target == mount or target.startswith(mount.rstrip(os.sep) + os.sep) or mount == os.sep
        if os.name == "nt":
            inside = target.lower().startswith(mount.lower())
        if inside and (best is None or len(mount) >= len(best.mountpoint)):
            best = part
    if best is None:
        return None
    return Filesystem(
        best.mountpoint, best.fstype, best.device, _network(best.fstype, best.device, best.opts)
    )


def is_network_share(path: Path | str) -> bool:
    filesystem = filesystem_of(path)
    return filesystem is not None and filesystem.is_network
