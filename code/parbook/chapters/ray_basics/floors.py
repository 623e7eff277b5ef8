"""The floors the Ray basics chapter measures Ray against: a raw ``os.pipe`` hand-off.

Handing an array to another process and hearing back that it arrived costs, at the
least, pushing its bytes through the kernel: this floor sends ``size`` bytes down a raw
``os.pipe`` to a child, which reads them into one buffer and answers with one byte. No
pickling, no Python objects per message. (The other floor, a ``memcpy`` of the array in
this process, is :func:`parbook.shared.shm.memcpy_floor`.)

The child is a plain subprocess (:func:`parbook.shared.roundtrip.raw_pipe_child`), so
the floor is the same under every start method, and the experiment starts it before Ray,
so no process is forked while Ray's threads run. This module does not import Ray: the
child starts in a fraction of a second.

``python -m parbook.chapters.ray_basics.floors READ_FD WRITE_FD SIZE`` is the child.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

from parbook.shared.roundtrip import raw_pipe_child, read_exactly, write_all

WAIT_S = 30.0


# [start:pipe-sink]
def pipe_sink_loop(read_fd: int, write_fd: int, size: int) -> None:
    """Read messages of exactly ``size`` bytes into one buffer; answer each with 1 byte."""
    buffer = memoryview(bytearray(size))
    while read_exactly(read_fd, buffer):
        os.write(write_fd, buffer[-1:])
# [end:pipe-sink]


@contextlib.contextmanager
def os_pipe_sink(size: int) -> Iterator[Callable[[memoryview], None]]:
    """Start a child that takes ``size``-byte messages; yield ``send(message)``.

    ``send`` writes the whole message and returns when the child's one-byte answer
    has arrived, that is, once the child holds every byte.
    """
    def command(read_fd: int, write_fd: int) -> list[str]:
        return [sys.executable, "-m", "parbook.chapters.ray_basics.floors",
                str(read_fd), str(write_fd), str(size)]

    with raw_pipe_child(command, timeout_s=WAIT_S) as (to_child_w, from_child_r):

        def send(message: memoryview) -> None:
            write_all(to_child_w, message)
            if not os.read(from_child_r, 1):
                raise EOFError("the pipe child closed its end")

        yield send


if __name__ == "__main__":
    pipe_sink_loop(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
