"""Writers that read a counter and write it back plus one, each with its own engine."""

import threading

from zsad_desktop.store import Database, Setting


def count_with_concurrent_writers(url: str, writers: int, times: int) -> int:
    """Run `writers` threads bumping one counter `times` each; return the final count.

    Interleaved read-then-write transactions would lose increments, so the
    result equals writers x times only if writes really take turns.
    """

    def bump() -> None:
        database = Database(url)  # its own engine, as a second copy of the application would have
        for _ in range(times):
            with database.session() as session:
                row = session.get(Setting, "counter")
                value = row.value["v"] if row else 0
                session.merge(Setting(key="counter", value={"v": value + 1}))
        database.dispose()

    threads = [threading.Thread(target=bump) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check = Database(url)
    with check.read() as session:
        count = session.get(Setting, "counter").value["v"]
    check.dispose()
    return count
