"""Shared-memory building blocks several chapters use: a numpy array in a named
``SharedMemory`` block that pickles as its name, joining processes within a bound, and the
``memcpy`` floor that copies are measured against."""

from __future__ import annotations

import time
from multiprocessing import shared_memory
from typing import Any

import numpy as np

#: Longest wait for any one process, so a stuck child fails the run instead of hanging it.
WAIT_S = 30.0


# [start:shared-array]
class SharedArray:
    """A numpy array in a ``SharedMemory`` block that pickles as the block's name.

    The process that creates one owns the block. A process that receives it through a
    Pipe, a Queue or as a Process argument gets the name, shape and dtype, attaches to
    the same memory and never copies the data. Use it as a context manager: on the way
    out every process closes its mapping, and the owner alone unlinks the block.
    """

    def __init__(self, shape: tuple[int, ...], dtype: Any, name: str | None = None) -> None:
        dtype = np.dtype(dtype)
        self.owner = name is None
        size = max(1, int(np.prod(shape)) * dtype.itemsize)
        self.block = shared_memory.SharedMemory(name=name, create=self.owner,
                                                size=size if self.owner else 0)
        try:
            self.array: Any = np.ndarray(shape, dtype=dtype, buffer=self.block.buf)
        except BaseException:  # a block too small for the shape: give it back at once
            self.block.close()
            if self.owner:
                self.block.unlink()
            raise

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # What a Pipe or Queue sends: three small values, whatever the array's size. The
        # dtype goes whole: its short string form ("|V42") would drop a record's fields.
        return SharedArray, (self.array.shape, self.array.dtype, self.block.name)

    def close(self) -> None:
        """Unmap the block in this process (the array must not be used afterwards)."""
        self.array = None  # numpy's view pins the mapping: drop it before close()
        self.block.close()

    def __enter__(self) -> SharedArray:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.close()
        finally:
            if self.owner:
                self.block.unlink()  # once, by the owner, even if close() failed
# [end:shared-array]


def join_all(processes: list[Any], timeout_s: float = WAIT_S) -> None:
    """Join every process within ``timeout_s`` in all; kill and report any still running."""
    deadline = time.monotonic() + timeout_s
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    stuck = [process for process in processes if process.is_alive()]
    for process in stuck:
        process.kill()
        process.join(WAIT_S)
    if stuck:
        raise TimeoutError(f"processes still running after {timeout_s} s: {stuck}")


def memcpy_floor(destination: Any, array: Any) -> None:
    """The floor: copy the array once, in this process, into memory already touched."""
    np.copyto(destination, array)
