"""IO-bound work: one server that answers late, three kinds of client, from ten to thousands
of requests at once; what a waiting request costs in memory; CPU work inside a coroutine.

Groups of cases in the result:

``startup``
    Seconds to make a kind of client ready for ``concurrency`` connections: a thread pool
    with that many threads started (``threads``), an event loop with that many tasks
    started (``asyncio``), a process pool of one worker per usable CPU with their loops
    (``processes``).
``batch``
    Seconds from the first connection to the last answer: ``concurrency`` connections at
    once, ``rounds`` requests over each, one after another (``requests`` in all), on a
    client made ready as above. The kinds take turns, in a different order each round.
``memory`` (bytes per waiting request)
    A fresh interpreter holds ``count`` requests waiting, on threads or on coroutines:
    the growth of its USS, RSS and virtual size (``vms``), and, in a second pass, of the
    Python objects ``tracemalloc`` traced, each divided by ``count``.
``worker_memory`` (bytes)
    USS and PSS of each worker of a process pool with its event loop.
``late_max``, ``late_median``, ``ticks`` and ``jobs_time``
    A heartbeat that should tick every ``period_s`` on an event loop while one job per
    usable CPU (at least two) runs: pure-Python computing (``python``), a blocking client
    call (``blocking``) or hashing, which releases the GIL (``hashing``), each called
    straight from the coroutine (``inline``), handed to ``asyncio.to_thread``
    (``thread``) or to a process pool (``process``). The latest and the median tick due
    during the jobs, how many ticks came, and how long the jobs took.

In ``values``: the machine's limits and which of them set the top concurrency, whether
every answer echoed its request's id, how many processes took part, the server's own
counts and whether it was gone at the end, the probes' raw readings, and the heartbeat's
ticks of the last round (for the figure).
"""

from __future__ import annotations

import functools
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parbook.bench.results import Result
from parbook.chapters.io_bound import probes
from parbook.chapters.io_bound import workload as work
from parbook.shared import run_setup
from parbook.shared.child import ChildRun, run_module
from parbook.shared.cpu import burn, calibrate, iterations_for

NAME = "io-bound"
KINDS = ("threads", "asyncio", "processes")
#: How each kind holds its connections, for table captions and rows.
KIND_HOW = {
    "threads": "a ThreadPoolExecutor, one blocking socket per thread",
    "asyncio": "one event loop, one coroutine per connection",
    "processes": "one process per usable CPU, each with its own event loop",
}
WORKS = ("python", "blocking", "hashing")
WORK_LABELS = {
    "python": "pure Python",
    "blocking": "blocking call",
    "hashing": "hashing",
}
FIXES = tuple(work.FIXES)
FIX_LABELS = {
    "inline": "called in the coroutine",
    "thread": "asyncio.to_thread",
    "process": "process pool",
}
MEASURES = ("uss", "rss", "vms", "traced")

#: File descriptors the client process needs besides one per connection (the pools'
#: pipes, the event loop's, standard streams), kept free below the open-files limit.
FD_RESERVE = 64
#: The share of the threads the machine still allows (its limits less the threads already
#: running) that the experiment may start, so other programs keep theirs.
THREAD_SHARE = 0.5
#: The share of the available memory the waiting requests may take, and what one waiting
#: request is budgeted at: a thread's touched stack, its kernel stack and both ends'
#: socket buffers, far above the few tens of KiB the memory probe measures.
MEMORY_SHARE = 0.10
REQUEST_BUDGET_BYTES = 256 * 2**10
#: The share of the ephemeral ports one run may hold at once.
PORT_SHARE = 0.5
#: Below this top concurrency the comparison would say little; such a machine fails.
MIN_TOP = 20
#: Time limit of one memory probe.
PROBE_LIMIT_S = 180.0


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    levels: tuple[int, ...]  # concurrency levels asked for; the machine's limits cut the top
    rounds: int
    delay_s: float
    repeats: int
    memory_requests: int
    job_s: float
    period_s: float
    heartbeat_repeats: int


FULL = Sizes(levels=(10, 30, 100, 300, 1000, 2000), rounds=3, delay_s=0.05, repeats=2,
             memory_requests=1000, job_s=0.1, period_s=0.01, heartbeat_repeats=3)
QUICK = Sizes(levels=(10, 100, 1000), rounds=3, delay_s=0.05, repeats=1,
              memory_requests=500, job_s=0.06, period_s=0.01, heartbeat_repeats=1)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


# ---------------------------------------------------------------------------------------
# The machine's limits, and the top concurrency they allow.

def _read_int(path: str) -> int | None:
    """An integer from a /proc or /sys file, or None where there is none (or "max")."""
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _finite(limit: int) -> int | None:
    return None if limit == resource.RLIM_INFINITY or limit < 0 else limit


def read_limits() -> dict[str, Any]:
    """What bounds how many requests this machine can hold waiting at once."""
    import psutil

    files_soft, files_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    processes_soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    thread_caps = [cap for cap in (_finite(processes_soft),
                                   _read_int("/proc/sys/kernel/threads-max"),
                                   _read_int("/sys/fs/cgroup/pids.max")) if cap is not None]
    running = 0
    for process in psutil.process_iter():
        try:
            running += process.num_threads()
        except psutil.Error:
            continue
    ports = Path("/proc/sys/net/ipv4/ip_local_port_range")
    try:
        low, high = (int(part) for part in ports.read_text().split())
        port_count: int | None = high - low + 1
    except (OSError, ValueError):
        port_count = None
    stack_soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    return {
        "open_files": _finite(files_soft), "open_files_hard": _finite(files_hard),
        "threads_allowed": min(thread_caps) if thread_caps else None,
        "threads_running": running,
        "listen_backlog": _read_int("/proc/sys/net/core/somaxconn"),
        "ephemeral_ports": port_count,
        "memory_available": psutil.virtual_memory().available,
        "stack_limit": _finite(stack_soft),
    }


def concurrency_caps(limits: dict[str, Any]) -> dict[str, int]:
    """The most connections at once each limit allows (limits the machine does not set
    are left out)."""
    caps: dict[str, int] = {}
    if limits["open_files"] is not None:
        caps["open files"] = limits["open_files"] - FD_RESERVE
    if limits["threads_allowed"] is not None:
        caps["threads"] = int(THREAD_SHARE * (limits["threads_allowed"]
                                              - limits["threads_running"]))
    caps["memory"] = int(MEMORY_SHARE * limits["memory_available"] // REQUEST_BUDGET_BYTES)
    if limits["listen_backlog"] is not None:
        caps["listen backlog"] = limits["listen_backlog"]
    if limits["ephemeral_ports"] is not None:
        caps["ephemeral ports"] = int(PORT_SHARE * limits["ephemeral_ports"])
    return caps


def top_concurrency(wanted: int, caps: dict[str, int]) -> tuple[int, str]:
    """The highest concurrency to measure, and what set it: the size asked for, or the
    tightest of the machine's limits."""
    top, bound = wanted, "the size asked for"
    for name, cap in caps.items():
        if cap < top:
            top, bound = cap, name
    if top < MIN_TOP:
        raise RuntimeError(f"this machine allows only {top} connections at once ({bound}), "
                           f"fewer than the {MIN_TOP} the comparison needs")
    return top, bound


def concurrency_levels(wanted: tuple[int, ...], top: int) -> list[int]:
    """The levels asked for below the top, and the top itself."""
    return [level for level in wanted if level < top] + [top]


# ---------------------------------------------------------------------------------------
# The run.

@dataclass(frozen=True)
class Sample:
    """One batch: how long the client took to get ready and to get every answer, the CPU
    time the client spent on the batch, how many answers were right, and how many
    processes took part."""

    startup_s: float
    batch_s: float
    cpu_s: float
    correct: int
    processes: int = 1


class ClientCpu:
    """CPU time the client side has used so far: this process and its descendants, less
    the server and multiprocessing's helpers (the fork server, the resource tracker).
    Worker processes count only while they are alive, so read it before a pool shuts
    down."""

    HELPER_MARKS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def __call__(self) -> float:
        import psutil

        me = psutil.Process()
        total = time.process_time()
        for process in me.children(recursive=True):
            try:
                if process.pid == self.server_pid or self._is_helper(process, me.pid):
                    continue
                total += cpu_seconds(process)
            except (psutil.Error, OSError):
                continue
        return total

    def _is_helper(self, process: Any, parent: int) -> bool:
        return process.ppid() == parent and any(
            mark in " ".join(process.cmdline()) for mark in self.HELPER_MARKS)


def cpu_seconds(process: Any) -> float:
    """CPU time a process has used, all its threads: from Linux's scheduler statistics,
    in nanoseconds, where they exist (``psutil``'s times count whole clock ticks, 10 ms,
    too coarse for a batch of a few hundred requests), else from ``psutil``."""
    tasks = Path(f"/proc/{process.pid}/task")
    if tasks.is_dir():
        return sum(int((task / "schedstat").read_text().split()[0])
                   for task in tasks.iterdir()) / 1e9
    times = process.cpu_times()
    return times.user + times.system


def run_threads(address: tuple[str, int], clients: int, rounds: int, workers: int,
                context: Any, cpu: ClientCpu) -> Sample:
    """One batch on a thread pool with a thread per connection."""
    began = time.perf_counter()
    pool = work.start_threads(clients)
    try:
        ready, cpu_before = time.perf_counter(), cpu()
        correct = work.on_threads(pool, address, clients, rounds)
        done, cpu_after = time.perf_counter(), cpu()
    finally:
        pool.shutdown(wait=True)
    return Sample(ready - began, done - ready, cpu_after - cpu_before, correct)


def run_asyncio(address: tuple[str, int], clients: int, rounds: int, workers: int,
                context: Any, cpu: ClientCpu) -> Sample:
    """One batch on a new event loop with a coroutine per connection."""
    began = time.perf_counter()
    loop = work.start_loop(clients)
    try:
        ready, cpu_before = time.perf_counter(), cpu()
        correct = loop.run_until_complete(work.on_coroutines(address, clients, rounds))
        done, cpu_after = time.perf_counter(), cpu()
    finally:
        loop.close()
    return Sample(ready - began, done - ready, cpu_after - cpu_before, correct)


def run_processes(address: tuple[str, int], clients: int, rounds: int, workers: int,
                  context: Any, cpu: ClientCpu) -> Sample:
    """One batch on a new process pool, its workers sharing the connections out."""
    began = time.perf_counter()
    pool = work.start_processes(workers, context)
    try:
        ready, cpu_before = time.perf_counter(), cpu()
        used, correct = work.on_processes(pool, workers, address, clients, rounds)
        done, cpu_after = time.perf_counter(), cpu()
    finally:
        pool.shutdown(wait=True)
    return Sample(ready - began, done - ready, cpu_after - cpu_before, correct, used)


RUNNERS: dict[str, Callable[..., Sample]] = {
    "threads": run_threads,
    "asyncio": run_asyncio,
    "processes": run_processes,
}


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement of the chapter and return the raw result."""
    size = sizes(quick)
    setup = run_setup.setup(progress)
    limits = read_limits()
    caps = concurrency_caps(limits)
    top, bound = top_concurrency(max(size.levels), caps)
    levels = concurrency_levels(size.levels, top)
    workers = setup.cpus
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        usable_cpus=setup.cpus, start_method=setup.start_method,
        python=sys.version.split()[0], levels=levels, top=top, wanted_top=max(size.levels),
        top_bound_by=bound, rounds=size.rounds, delay_s=size.delay_s,
        process_workers=workers, repeats=size.repeats,
        memory_requests=min(top, size.memory_requests), job_s=size.job_s,
        period_s=size.period_s, heartbeat_repeats=size.heartbeat_repeats,
        jobs=max(2, setup.cpus),
    )
    result.values["limits"] = limits
    result.values["caps"] = caps
    rate = calibrate()
    hash_round_s = work.calibrate_hash()
    result.values.update(burn_iterations_per_s=rate, hash_round_s=hash_round_s,
                         switch_interval_s=sys.getswitchinterval())
    server_record: dict[str, Any] = {}
    result.values["server"] = server_record
    with work.delay_server(size.delay_s, setup.context, backlog=top) as server:
        server_record.update(pid=server.pid, port=server.address[1])
        _throughput(result, server.address, server.pid, levels, size, setup)
        _blocked_loop(result, server.address, size, setup, rate, hash_round_s)
    server_record.update(stats=server.stats, gone=server_gone(server.pid, server.address[1]))
    _memory(result, result.parameters["memory_requests"], setup)
    return result


def server_gone(pid: int, port: int) -> bool:
    """Whether the server's process has ended and nothing listens on its port any more."""
    import psutil

    alive = psutil.pid_exists(pid)
    if alive:
        try:
            alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            alive = False
    ours = {pid, os.getpid(), *(child.pid for child in psutil.Process().children(recursive=True))}
    return not alive and not listening_on(port, ours)


def listening_on(port: int, pids: set[int] | None = None) -> bool:
    """Whether a TCP socket listens on ``port`` of 127.0.0.1: any socket, or with ``pids``
    one held by those processes (or by a process this one may not look at). The port was
    the system's to give, and once freed another program may be given it."""
    import psutil

    return any(conn.status == psutil.CONN_LISTEN and conn.laddr
               and conn.laddr.port == port and conn.laddr.ip == work.HOST
               and (pids is None or conn.pid is None or conn.pid in pids)
               for conn in psutil.net_connections(kind="tcp4"))


def _throughput(result: Result, address: tuple[str, int], server_pid: int,
                levels: list[int], size: Sizes, setup: run_setup.RunSetup) -> None:
    import psutil

    server = psutil.Process(server_pid)
    client_cpu = ClientCpu(server_pid)
    samples: dict[tuple[str, int], list[Sample]] = {(kind, level): [] for kind in KINDS
                                                    for level in levels}
    server_cpu: dict[tuple[str, int], list[float]] = {key: [] for key in samples}
    turn = 0
    for repeat in range(size.repeats):
        for level in levels:
            order = [*KINDS[turn % len(KINDS):], *KINDS[:turn % len(KINDS)]]
            turn += 1
            for kind in order:
                setup.say(f"throughput: {kind}, {level} connections x {size.rounds} "
                          f"requests, round {repeat + 1}")
                before = cpu_seconds(server)
                samples[(kind, level)].append(RUNNERS[kind](
                    address, level, size.rounds, result.parameters["process_workers"],
                    setup.context, client_cpu))
                server_cpu[(kind, level)].append(cpu_seconds(server) - before)
    answers = []
    for (kind, level), made in samples.items():
        requests = level * size.rounds
        result.add("startup", {"kind": kind, "concurrency": level},
                   [sample.startup_s for sample in made])
        result.add("batch", {"kind": kind, "concurrency": level, "requests": requests},
                   [sample.batch_s for sample in made])
        # Two readings of a counter: never negative, though a batch may use next to none.
        result.add("client_cpu", {"kind": kind, "concurrency": level},
                   [max(0.0, sample.cpu_s) for sample in made], unit="cpu s")
        result.add("server_cpu", {"kind": kind, "concurrency": level},
                   [max(0.0, used) for used in server_cpu[(kind, level)]], unit="cpu s")
        answers.append({"kind": kind, "concurrency": level, "requests": requests,
                        "correct": min(sample.correct for sample in made),
                        "processes": min(sample.processes for sample in made)})
    result.values["answers"] = answers


def _blocked_loop(result: Result, address: tuple[str, int], size: Sizes,
                  setup: run_setup.RunSetup, rate: float, hash_round_s: float) -> None:
    jobs = result.parameters["jobs"]
    rounds = max(1, round(size.job_s / size.delay_s))
    works: dict[str, tuple[Callable[[Any], Any], Any]] = {
        "python": (burn, iterations_for(size.job_s, rate)),
        "blocking": (functools.partial(work.blocking_requests, address), rounds),
        "hashing": (work.hash_rounds, max(1, round(size.job_s / hash_round_s))),
    }
    result.parameters["job_arguments"] = {name: argument for name, (_job, argument)
                                          in works.items()}
    setup.say("blocked loop: each job once, for the answers to expect")
    expected = {name: job(argument) for name, (job, argument) in works.items()}
    runs: dict[tuple[str, str], list[work.Heartbeats]] = {}
    with work.start_processes(jobs, setup.context) as pool:
        for job, _argument in works.values():  # every worker has run each job once
            list(pool.map(job, [1] * jobs, timeout=work.TIMEOUT_S))
        for repeat in range(size.heartbeat_repeats):
            for name, (job, argument) in works.items():
                for fix in FIXES:
                    setup.say(f"blocked loop: {jobs} jobs of {name}, {fix}, round "
                              f"{repeat + 1}")
                    runs.setdefault((name, fix), []).append(work.heartbeat_during(
                        fix, job, [argument] * jobs, size.period_s, pool))
    correct, beats = {}, {}
    for (name, fix), made in runs.items():
        params = {"work": name, "fix": fix}
        result.add("late_max", params, [max(run.lateness, default=size.period_s)
                                        for run in made])
        result.add("late_median", params, [_median(run.lateness, size.period_s)
                                           for run in made])
        result.add("ticks", params, [len(run.lateness) for run in made], unit="count")
        result.add("jobs_time", params, [run.elapsed_s for run in made])
        correct.setdefault(name, {})[fix] = all(
            answer == expected[name] for run in made for answer in run.results)
        beats.setdefault(name, {})[fix] = [round(late, 6) for late in made[-1].lateness]
    result.values["jobs_correct"] = correct
    result.values["beats"] = beats


def _median(values: list[float], empty: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return empty
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _memory(result: Result, count: int, setup: run_setup.RunSetup) -> None:
    readings = {}
    for kind in ("threads", "asyncio"):
        setup.say(f"memory: {count} requests waiting on {kind}, in a fresh interpreter")
        reading = _probe("memory", kind, str(count), setup.start_method)
        readings[kind] = reading
        grown = {measure: reading["holding"][measure] - reading["before"][measure]
                 for measure in ("uss", "rss", "vms")}
        grown["traced"] = reading["traced_holding"] - reading["traced_before"]
        for measure in MEASURES:
            result.add("memory", {"kind": kind, "measure": measure, "count": count},
                       [max(0.0, grown[measure] / count)], unit="bytes")
    workers = result.parameters["process_workers"]
    setup.say(f"memory: a process pool of {workers} workers with their loops")
    pool = _probe("workers", str(workers), setup.start_method)
    for measure in ("uss", "pss"):
        result.add("worker_memory", {"measure": measure, "method": setup.start_method},
                   [worker[measure] for worker in pool["workers"]], unit="bytes")
    result.values["memory"] = {**readings, "workers": pool}


def _probe(*args: str) -> dict[str, Any]:
    child: ChildRun = run_module(probes.MODULE, *args, time_limit_s=PROBE_LIMIT_S)
    if child.killed or child.returncode != 0:
        raise RuntimeError(f"probe {' '.join(args)} failed (exit {child.returncode}, "
                           f"killed={child.killed}):\n{child.errors[-3000:]}")
    return json.loads(child.output.strip().splitlines()[-1])
