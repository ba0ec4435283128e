"""Overlap reading images and writing results with the forward pass, in bounded memory.

The detector's forward pass is the long step; decoding a PNG, windowing a
16-bit scan or writing a compressed heatmap are short ones that release the
GIL (Pillow, OpenCV, numpy, zlib). `prefetched` reads ahead on worker
threads, never more than `depth` items, and hands results back in order;
`InOrderWriter` runs writes on one thread while the next batch is scored.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

#: reading threads: one is enough to keep a CPU forward pass fed; a GPU gets more (see `reader_threads`)
DEFAULT_READERS = 1


def reader_threads(device: str | None) -> int:
    """How many threads decode images: a GPU scores a batch in milliseconds and waits for files unless
    several read at once; a CPU needs its cores for the forward pass."""
    if device and str(device).startswith("cuda"):
        return max(2, min(8, (os.cpu_count() or 2) - 1))
    return DEFAULT_READERS


def prefetched(
    items: Iterable[Item],
    read: Callable[[Item], Result],
    threads: int = DEFAULT_READERS,
    depth: int = 4,
    cancel: threading.Event | None = None,
) -> Generator[tuple[Item, Result | BaseException], None, None]:
    """(item, read(item)) in the items' order, or (item, the exception read raised): at most `depth`
    items read ahead, so a folder of 100,000 images never sits in memory. Stops early on `cancel`;
    reads still running then are waited for, nothing is left behind."""
    depth = max(1, depth)
    pending: deque[tuple[Item, Future]] = deque()
    iterator = iter(items)
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="zsad-read") as pool:
        try:
            while True:
                while len(pending) < depth and not (cancel is not None and cancel.is_set()):
                    try:
                        item = next(iterator)
                    except StopIteration:
                        break
                    pending.append((item, pool.submit(read, item)))
                if not pending:
                    return
                item, future = pending.popleft()
                try:
                    yield item, future.result()
                except Exception as error:  # the caller decides: a bad file is reported, the run goes on
                    yield item, error
        finally:
            for _, future in pending:
                future.cancel()


class InOrderWriter(Generic[Result]):
    """Runs writes on one background thread, in submission order; `done()` yields finished results
    in that order without waiting for the ones still running, `drain()` waits for all. With
    `background=False` each write runs at once on the caller's thread (see `writes_in_background`)."""

    def __init__(self, background: bool = True) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="zsad-write") if background else None
        self._pending: deque[Future] = deque()

    def submit(self, write: Callable[[], Result]) -> None:
        if self._pool is not None:
            self._pending.append(self._pool.submit(write))
            return
        future: Future = Future()
        try:
            future.set_result(write())
        except Exception as error:  # raised again where the result is taken, as from the pool
            future.set_exception(error)
        self._pending.append(future)

    def done(self) -> Iterator[Result]:
        while self._pending and self._pending[0].done():
            yield self._pending.popleft().result()

    def drain(self) -> Iterator[Result]:
        while self._pending:
            yield self._pending.popleft().result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def writes_in_background(device: str | None) -> bool:
    """On a GPU a batch takes milliseconds and writing its heatmaps would leave it idle; on a CPU a batch
    takes seconds, the write under 1% of that, and writing at once lets a cancel stop after this batch
    (the consumer sees each result before the next batch starts)."""
    return bool(device) and str(device).startswith("cuda")
