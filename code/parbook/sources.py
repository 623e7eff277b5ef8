"""Figures the source articles reported, each with its article, machine and units.

These are the only numbers in the book that were not measured by the build that shows
them. Pages render them through the same tables as our own results, always in columns
labelled as the article's, beside what this build measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """A source article as the book cites it."""

    key: str
    title: str
    title_original: str
    author: str
    year: int | None
    file: str


@dataclass(frozen=True)
class ReportedTable:
    """A table of figures an article reported: rows keyed by parameters, values in ``unit``."""

    article: Article
    machine: str
    unit: str
    note: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def lookup(self, **params: Any) -> float | None:
        """The reported value for the row matching ``params`` (None if not reported)."""
        for row in self.rows:
            if all(row.get(k) == v for k, v in params.items()):
                return row["value"]
        return None


ARTICLES = {
    "000": Article(
        key="000",
        title="Why is multiprocessing sometimes slower than a single process?",
        title_original="多进程为什么有时比单进程还慢？",
        author="the author of an RL framework",
        year=2023,
        file="000_269ab74668b3a31d.txt",
    ),
    "001": Article(
        key="001",
        title="Basics of distributed RL",
        title_original="分布式RL的基础",
        author="an RL practitioner's study notes (partly reposted)",
        year=None,
        file="001_91e54a5334459b15.txt",
    ),
    "002": Article(
        key="002",
        title="10x faster parallel Python without Python multiprocessing",
        title_original="(untitled Chinese translation, reposted from the WeChat account 稀牛学院)",
        author="Ray's authors; translator not named",
        year=2019,
        file="002_3f327584a29b6d86.txt",
    ),
    "003": Article(
        key="003",
        title="Using multiprocessing elegantly in Python",
        title_original="在Python中优雅地用多进程",
        author="the author of the ElegantRL library",
        year=2021,
        file="003_b6130d2386e5a3a2.txt",
    ),
    "004": Article(
        key="004",
        title="Three bugs met while parallelising environment sampling with SubprocVecEnv",
        title_original="(untitled; opens with 需要用到SubprocVecEnv并行采样)",
        author="an RL practitioner",
        year=None,
        file="004_5fd9655aece8ca99.txt",
    ),
}


def _article_000_rows() -> list[dict[str, Any]]:
    # The article's table, in seconds: (body, workers) -> (one process, mp, ray). The
    # middle rows' header says time.sleep(0.001), but the article's code sleeps
    # time.sleep(0.0001), and its one-process figures agree with the code (five tasks in
    # 0.0007 s, less than five sleeps of 1 ms could take): they are keyed as 0.1 ms.
    reported = {
        ("return", 1): (2.29e-5, 0.572, 0.540),
        ("return", 5): (2.09e-5, 0.548, 0.683),
        ("return", 10): (2.69e-5, 0.994, 1.099),
        ("sleep_100us", 1): (0.0001, 0.439, 0.498),
        ("sleep_100us", 5): (0.0007, 0.544, 0.617),
        ("sleep_100us", 10): (0.0014, 0.847, 0.980),
        ("sleep_1s", 1): (1.0014, 1.444, 1.515),
        ("sleep_1s", 5): (5.019, 1.539, 1.624),
        ("sleep_1s", 10): (10.037, 1.975, 1.915),
    }
    rows = []
    for (body, workers), values in reported.items():
        for backend, value in zip(("one_process", "processes", "ray_actors"), values, strict=True):
            rows.append({"body": body, "workers": workers, "backend": backend, "value": value})
    return rows


#: Article 000's timing of 1/5/10 workers, start-up included. The machine is as the article
#: states it; it does not name its start method (spawn, the macOS default since Python
#: 3.8, is the likely one, but the article does not say).
OVERHEAD_TABLE = ReportedTable(
    article=ARTICLES["000"],
    machine="macOS 13.4.1, 2.6 GHz 6-core Intel Core i7",
    unit="s",
    note="one run each, start-up included; Ray already initialised",
    rows=_article_000_rows(),
)
#: The sleep article 000's table header gives for its middle rows; its code sleeps
#: 0.0001 s, and those rows are keyed ``sleep_100us`` above.
OVERHEAD_TABLE_HEADER_SLEEP_S = 0.001

#: Article 000's claim about the cost of one Ray round trip, in seconds.
RAY_ROUND_TRIP_CLAIM_S = ReportedTable(
    article=ARTICLES["000"],
    machine=OVERHEAD_TABLE.machine,
    unit="s",
    note="'communication costs at least about 0.002 s'",
    rows=[{"what": "ray_round_trip", "value": 0.002}],
)

#: Article 001's GIL experiment: ten pure-Python loops of a million iterations each, run
#: one after another and on ten threads. The article first quotes the sequential time as
#: 0.36 s and then, more precisely, as 0.369 s; the more precise figure is kept.
GIL_TABLE = ReportedTable(
    article=ARTICLES["001"],
    machine="Intel Core i9-10900K",
    unit="s",
    note="one run each; 10 loops of 1,000,000 iterations",
    rows=[
        {"backend": "sequential", "loops": 10, "iterations": 1_000_000, "value": 0.369},
        {"backend": "threads", "loops": 10, "iterations": 1_000_000, "value": 0.37},
    ],
)

#: Article 001's lost-update race: 1000 threads, each reading the count, sleeping 1 ms
#: and writing the count plus one. The final count should be 1000.
RACE_TABLE = ReportedTable(
    article=ARTICLES["001"],
    machine="Intel Core i9-10900K (the author's run); the 69 is quoted from the post the "
            "article follows, machine not stated",
    unit="count",
    note="final count after 1000 threads of read, sleep(0.001), write; one run each",
    rows=[
        {"run": "the post the article follows", "threads": 1000, "pause_s": 0.001, "value": 69},
        {"run": "the article's author", "threads": 1000, "pause_s": 0.001, "value": 7},
    ],
)

#: Article 003's claim that pipes are faster than queues "but only by 1.5 to 2 times",
#: which it quotes (in English) from a blog post on Python pipe and queue performance.
#: As a range of Queue time / Pipe time. Neither the machine, the message size nor the
#: Python version is stated.
PIPE_VS_QUEUE_CLAIM = ReportedTable(
    article=ARTICLES["003"],
    machine="not stated (quoted from a blog post on Python pipe and queue performance)",
    unit="×",
    note="Queue time / Pipe time; message size not stated",
    rows=[{"bound": "low", "value": 1.5}, {"bound": "high", "value": 2.0}],
)

#: Article 001's Pool demonstration (section 3.6): a pool of 3 worker processes runs 10
#: tasks that each sleep 3 s, first with ``apply`` in a loop, then with ``apply_async``
#: and ``get``. The article printed the workers' process ids and the results, but not how
#: long either version took; these rows are the demonstration's set-up, not timings.
POOL_DEMO_ARTICLE = ReportedTable(
    article=ARTICLES["001"],
    machine="not stated",
    unit="as named in each row",
    note="the demonstration's parameters; the article reported no timings",
    rows=[
        {"what": "task_s", "value": 3.0},
        {"what": "workers", "value": 3},
        {"what": "tasks", "value": 10},
    ],
)

#: Article 002's three workloads on 48 physical cores: seconds for each whole timed loop
#: (10 rounds), as Ray / Python multiprocessing / serial Python. The article's
#: multiprocessing code is the book's "naive_mp" version; it has no "fair" version.
RAY_VS_MP_TABLE = ReportedTable(
    article=ARTICLES["002"],
    machine="EC2 m5.24xlarge, 48 physical cores",
    unit="s",
    note="one figure per version; 48 workers, 10 rounds; Ray's start-up and pool "
         "creation outside the timing; the serial initialisation run used TensorFlow's "
         "own threads",
    rows=[
        {"workload": "numerical", "version": "ray", "value": 0.84},
        {"workload": "numerical", "version": "naive_mp", "value": 7.5},
        {"workload": "numerical", "version": "serial", "value": 24.0},
        {"workload": "stateful", "version": "ray", "value": 3.2},
        {"workload": "stateful", "version": "naive_mp", "value": 21.0},
        {"workload": "stateful", "version": "serial", "value": 54.0},
        {"workload": "initialisation", "version": "ray", "value": 5.0},
        {"workload": "initialisation", "version": "naive_mp", "value": 126.0},
        {"workload": "initialisation", "version": "serial", "value": 64.0},
    ],
)

#: The machine of article 002's headline figures: how many physical cores (and workers)
#: they ran on, for the chapters that set a core count beside this build's.
RAY_VS_MP_CORES = ReportedTable(
    article=ARTICLES["002"],
    machine="EC2 m5.24xlarge, 48 physical cores",
    unit="cores",
    note="the physical cores of the machine behind its headline figures",
    rows=[{"what": "cores", "value": 48}],
)

#: Article 002's overall claim: "Ray is 10-30x faster than serial Python and 5-25x faster
#: than multiprocessing" (speed-up ranges, over its benchmarks on EC2 m5 instances).
RAY_VS_MP_CLAIM = ReportedTable(
    article=ARTICLES["002"],
    machine="EC2 m5 instances, m5.large (1 physical core) to m5.24xlarge (48)",
    unit="×",
    note="Ray's speed-up over serial Python and over Python multiprocessing",
    rows=[
        {"versus": "serial", "bound": "low", "value": 10.0},
        {"versus": "serial", "bound": "high", "value": 30.0},
        {"versus": "naive_mp", "bound": "low", "value": 5.0},
        {"versus": "naive_mp", "bound": "high", "value": 25.0},
    ],
)

#: Article 002's third range: Ray's speed-up over the faster of serial Python and its
#: multiprocessing code ("5-15x faster than the faster of those two on a large machine").
RAY_BEST_OF_BOTH_CLAIM = ReportedTable(
    article=ARTICLES["002"],
    machine="EC2 m5 instances, m5.large (1 physical core) to m5.24xlarge (48)",
    unit="×",
    note="Ray's speed-up over the faster of serial Python and multiprocessing",
    rows=[{"bound": "low", "value": 5.0}, {"bound": "high", "value": 15.0}],
)
