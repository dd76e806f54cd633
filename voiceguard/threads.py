"""How many threads torch may use for one piece of work, without changing the process.

torch has one intra-op thread pool per process: ``torch.set_num_threads`` changes it for
every caller, including a server's other scoring threads and a host application's own
models. :func:`torch_threads` sets it only while a block runs and restores it afterwards;
blocks asking for a thread count run one at a time (they would fight over the one pool),
and work that asks for nothing (``threads=None``) never touches the setting.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from voiceguard.errors import InvalidParameterError

__all__ = ["check_threads", "torch_threads"]

_lock = threading.RLock()


def check_threads(threads: int | None) -> int | None:
    """``threads`` as an int >= 1, or None; raises InvalidParameterError otherwise."""
    if threads is None:
        return None
    if int(threads) < 1:
        raise InvalidParameterError(f"threads must be >= 1, got {threads}")
    return int(threads)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with torch's intra-op pool at ``threads`` (None: as it is), then restore it."""
    if threads is None:
        yield
        return
    import torch

    with _lock:
        before = torch.get_num_threads()
        if before != threads:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)
