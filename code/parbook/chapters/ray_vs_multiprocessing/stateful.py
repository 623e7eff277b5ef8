"""Ray against multiprocessing, part 2: stateful computation (popular-prefix counting).

Documents of random 20-byte words stream in; each of ``n`` counters counts the prefixes
of the words in the documents it is given and remembers which prefixes became popular
(seen more than three times). Documents go to the counters in turn, so every version,
serial or parallel, computes the same ``n`` counters and the same answer.

The four versions: the counters in this process (serial); the article's ``Pool.map``
version, which passes every counter's state into a task and back out each round
(naive); long-lived worker processes that each keep one counter and are fed through a
queue (fair); and Ray actors (the article's ``StreamingPrefixCount``).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any

import numpy as np

from parbook.chapters.ray_vs_multiprocessing.workload import WAIT_S, ready_actors, thread_count
from parbook.shared.cpu import one_blas_thread
from parbook.shared.shm import join_all

#: The article's words: 20 random bytes each.
WORD_BYTES = 20
#: A prefix is popular once it has been counted more than this many times.
POPULAR_ABOVE = 3


def make_documents(count: int, words: int, seed: int = 2) -> list[list[bytes]]:
    """``count`` documents of ``words`` random 20-byte words each."""
    rng = np.random.default_rng(seed)
    return [[rng.bytes(WORD_BYTES) for _ in range(words)] for _ in range(count)]


# [start:prefix-counter]
class StreamingPrefixCount:
    """Counts the prefixes of every word it is given; remembers the popular ones."""

    def __init__(self) -> None:
        self.prefix_count: defaultdict[bytes, int] = defaultdict(int)
        self.popular_prefixes: set[bytes] = set()

    def add_document(self, document: list[bytes]) -> None:
        for word in document:
            for end in range(1, len(word)):
                prefix = word[:end]
                self.prefix_count[prefix] += 1
                if self.prefix_count[prefix] > POPULAR_ABOVE:
                    self.popular_prefixes.add(prefix)

    def get_popular(self) -> set[bytes]:
        return self.popular_prefixes
# [end:prefix-counter]

    def reset(self) -> None:
        """Start counting afresh (between two timed runs)."""
        self.prefix_count = defaultdict(int)
        self.popular_prefixes = set()

    def ready(self) -> int:
        """Answer once constructed; returns the thread count of the process it lives in."""
        return thread_count()


def union(sets: list[set[bytes]]) -> set[bytes]:
    """Every prefix popular in any counter."""
    merged: set[bytes] = set()
    for prefixes in sets:
        merged |= prefixes
    return merged


# [start:stateful-serial]
def stateful_serial(counters: list[StreamingPrefixCount],
                    documents: list[list[bytes]]) -> set[bytes]:
    """Document ``i`` goes to counter ``i % n``, all in this process."""
    for i, document in enumerate(documents):
        counters[i % len(counters)].add_document(document)
    return union([counter.get_popular() for counter in counters])
# [end:stateful-serial]


# [start:stateful-naive]
def accumulate_prefixes(args: tuple[defaultdict[bytes, int], set[bytes], list[bytes]]
                        ) -> tuple[defaultdict[bytes, int], set[bytes]]:
    """Pool task: the counter's whole state comes in with the document, and goes back."""
    prefix_count, popular_prefixes, document = args
    for word in document:
        for end in range(1, len(word)):
            prefix = word[:end]
            prefix_count[prefix] += 1
            if prefix_count[prefix] > POPULAR_ABOVE:
                popular_prefixes.add(prefix)
    return prefix_count, popular_prefixes


def stateful_naive(pool: Any, counters: int, documents: list[list[bytes]],
                   states: list[Any]) -> set[bytes]:
    """The article's version: one ``map`` per round of ``counters`` documents, every
    counter's state pickled into its task and back out. ``states`` receives the final
    states, so the caller can see how large they grew."""
    counts: list[Any] = [defaultdict(int) for _ in range(counters)]
    popular: list[set[bytes]] = [set() for _ in range(counters)]
    for start in range(0, len(documents), counters):
        batch = documents[start:start + counters]
        results = pool.map(accumulate_prefixes, zip(counts, popular, batch, strict=True),
                           chunksize=1)
        counts = [count for count, _ in results]
        popular = [prefixes for _, prefixes in results]
    states[:] = counts
    return union(popular)
# [end:stateful-naive]


# [start:stateful-fair]
def counting_worker(inbox: Any, outbox: Any) -> None:
    """A long-lived worker process: one counter, kept between messages.

    ``("doc", document)`` counts a document; ``("report", None)`` sends back the popular
    prefixes; ``("reset", None)`` starts afresh; ``None`` ends the worker.
    """
    counter = StreamingPrefixCount()
    outbox.put(("ready", thread_count()))
    while (message := inbox.get(timeout=WAIT_S)) is not None:
        kind, payload = message
        if kind == "doc":
            counter.add_document(payload)  # nothing is sent back per document
        elif kind == "report":
            outbox.put(("report", counter.get_popular()))
        elif kind == "reset":
            counter = StreamingPrefixCount()
            outbox.put(("reset", None))


def stateful_fair(workers: Any, documents: list[list[bytes]]) -> set[bytes]:
    """Stream every document to the worker that keeps its counter; collect once."""
    for i, document in enumerate(documents):
        workers.inboxes[i % len(workers.inboxes)].put(("doc", document))
    return union(workers.ask_all("report"))
# [end:stateful-fair]


class CountingWorkers:
    """``count`` :func:`counting_worker` processes, each with its own inbox, one outbox.

    Use as a context manager: on entry every worker has started; on the way out each is
    told to stop, joined (killed if it does not stop in time), and the queues closed.
    """

    def __init__(self, context: Any, count: int) -> None:
        self.outbox = context.Queue()
        self.inboxes = [context.Queue() for _ in range(count)]
        self.processes = [
            context.Process(target=counting_worker, args=(inbox, self.outbox),
                            name=f"prefix-counter-{i}", daemon=True)
            for i, inbox in enumerate(self.inboxes)
        ]
        self.threads: list[int] = []

    def __enter__(self) -> CountingWorkers:
        try:
            with one_blas_thread():
                for process in self.processes:
                    process.start()
            self.threads = self._collect("ready")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _collect(self, kind: str) -> list[Any]:
        answers = []
        for _ in self.inboxes:
            got, payload = self.outbox.get(timeout=WAIT_S)
            if got != kind:
                raise RuntimeError(f"expected {kind!r} from a worker, got {got!r}")
            answers.append(payload)
        return answers

    def ask_all(self, kind: str) -> list[Any]:
        """Send ``kind`` to every worker and return their answers (bounded waits)."""
        for inbox in self.inboxes:
            inbox.put((kind, None))
        return self._collect(kind)

    def close(self) -> None:
        """Stop, join and release everything (safe to call twice)."""
        started = [process for process in self.processes if process.pid is not None]
        for inbox, process in zip(self.inboxes, self.processes, strict=True):
            if process.pid is not None and process.is_alive():
                inbox.put(None)
        try:
            join_all(started)
        finally:
            clean = all(process.exitcode == 0 for process in started)
            for queue in (*self.inboxes, self.outbox):
                if not clean:  # a dead reader would leave the feeder thread blocked
                    queue.cancel_join_thread()
                queue.close()
                queue.join_thread()
            self.processes = []
            self.inboxes = []


@functools.cache
def _remote_counter() -> Any:
    import ray

    return ray.remote(StreamingPrefixCount)


def counting_actors(ray: Any, count: int) -> list[Any]:
    """``count`` Ray actors, each a :class:`StreamingPrefixCount`, ready to count."""
    return ready_actors(ray, _remote_counter(), count)


# [start:stateful-ray]
def stateful_ray(ray: Any, actors: list[Any], documents: list[list[bytes]]) -> set[bytes]:
    """The article's Ray version: each actor keeps its counter between calls."""
    added = [actors[i % len(actors)].add_document.remote(document)
             for i, document in enumerate(documents)]
    popular = ray.get([actor.get_popular.remote() for actor in actors], timeout=WAIT_S)
    ray.get(added, timeout=WAIT_S)  # already done (an actor runs its calls in order)
    return union(popular)
# [end:stateful-ray]
