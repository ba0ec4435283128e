"""Ray, the optional engine a cluster run uses: imported only here, connected and released in one place."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from zsad_desktop.detection.interface import DetectorError

INSTALL_HINT = "pip install -e '.[cluster]'  (or: pip install 'ray>=2.40')"
AUTO = "auto"


class ClusterUnavailable(DetectorError):
    """No Ray, or no cluster at the address: the detector cannot run there (shown as is, like a
    missing weight file)."""


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ClusterUnavailable(
            f"scoring on a cluster needs Ray, which is not installed: {INSTALL_HINT}"
        ) from None
    return ray


# Ray Data notes on the console that its progress bars are off and when a dataset finished, breaking the
# run's own progress line; marked `hide`, they go to the session's ray-data.log only.
DATA_NOTES = ("ray.data._internal.progress", "ray.data._internal.execution.streaming_executor")


class _FileOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            record.hide = True  # Ray Data's console handler drops such records, its file handler keeps them
        return True


def keep_data_notes_off_console() -> None:
    for name in DATA_NOTES:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _FileOnly) for f in logger.filters):
            logger.addFilter(_FileOnly())


CLIENT_ATTEMPTS = 3
# Ray's GCS client ends its whole process (exit status 1, nothing printed) when it cannot reach the GCS
# for this long. One can outlive `ray.shutdown()` in the driver: a minute after a run's local Ray was
# stopped, the window (or any caller) would vanish. A run has its own deadlines, so wait far longer.
GCS_RECONNECT_ENV = "RAY_gcs_rpc_server_reconnect_timeout_s"
GCS_RECONNECT_S = str(7 * 24 * 3600)


def keep_gcs_clients_waiting() -> None:
    """Before Ray starts in this process (Ray reads the setting then); a caller's own value is kept."""
    os.environ.setdefault(GCS_RECONNECT_ENV, GCS_RECONNECT_S)


@contextmanager
def connected(address: str, num_cpus: int | None = None, object_store_mb: int | None = None) -> Iterator[Any]:
    """Ray connected to `address` ("auto": the cluster of the Ray job this runs in, under `ray job
    submit`, else a local Ray on this machine, started for the run and stopped after it;
    "ray://HOST:PORT": an existing cluster through Ray Client). A Ray already initialised by the caller
    is used as it is and left running."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    keep_gcs_clients_waiting()
    options: dict[str, Any] = {"include_dashboard": False}
    if address == AUTO and os.environ.get("RAY_ADDRESS"):  # a Ray job's driver: its cluster is set
        options = {}
    elif address == AUTO:
        # A fresh local Ray; never attach to one someone else started on this machine.
        options.update(address="local", num_cpus=num_cpus)
        if object_store_mb:
            options["object_store_memory"] = object_store_mb * 1024 * 1024
    elif address.startswith("ray://"):
        options = {"address": address}
    else:
        raise ClusterUnavailable(f"--cluster {address!r}: expected 'auto' or ray://HOST:PORT")
    # Ray Client's server starts a process per client; that start can fail once and work the next time
    # ("Initialization failure from server"), so a ray:// connection is tried a few times.
    attempts = CLIENT_ATTEMPTS if address.startswith("ray://") else 1
    for attempt in range(1, attempts + 1):
        try:
            ray.init(**options)
            break
        except ConnectionError as error:
            if attempt == attempts or "Initialization failure from server" not in str(error):
                raise ClusterUnavailable(f"no Ray cluster at {address}: {error}") from None
            time.sleep(2.0 * attempt)
    try:
        yield ray
    finally:
        ray.shutdown()
