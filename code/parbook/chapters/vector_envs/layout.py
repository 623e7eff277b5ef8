"""Why one step may cost more under forkserver and spawn than under fork: a control.

Run as ``python -m parbook.chapters.vector_envs.layout ROUNDS STEPS [--one-cpu]
[--randomisation-off]`` (the experiment does, in a child interpreter with a time limit).
It opens one ``AsyncVectorEnv`` of :data:`NUM_ENVS` CartPoles per start method, all at
once, and steps them in rounds: in each, STEPS consecutive steps of one method's
environments, then of the next method's (the order reversed every other round), so that
the methods stepped in the same round share the machine's load of that moment. It prints
one JSON line: for each method, the mean seconds per step in every round, and how many
of its workers run the interpreter at the same addresses as the parent.

The steps of one method are consecutive, as in a real sampling loop, which steps one
vector env again and again.

Two things besides their start can differ between the workers. One is where they run:
left to the scheduler, a worker may run on its parent's CPU or on another. With
``--one-cpu`` the program first pins itself to one CPU, so that it and every worker it
starts (which inherit the pinning) take turns on that CPU. The other is where their code
sits in memory. A forked worker is a copy of its parent, at the parent's addresses.
``spawn`` starts a new program for each worker, and ``forkserver`` one for its server,
whose copies the workers are; Linux loads every new program at new, random addresses
(address-space layout randomisation). With ``--randomisation-off`` the program first
switches that off for itself (the personality flag ``ADDR_NO_RANDOMIZE``, which
``setarch -R`` sets) and starts again, so that every program it starts is loaded at its
own addresses. Where a system allows neither, the program prints why and measures
nothing.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time
from typing import Any

import gymnasium
import numpy as np

from parbook.chapters.vector_envs import workload as work

MODULE = "parbook.chapters.vector_envs.layout"
NUM_ENVS = 2
RANDOMISATION_OFF = "--randomisation-off"
ONE_CPU = "--one-cpu"
#: Linux's personality flag that loads new programs without address randomisation.
ADDR_NO_RANDOMIZE = 0x0040000
#: personality() with this argument only reads the current flags.
QUERY_PERSONALITY = 0xFFFFFFFF


class WhereLoaded(gymnasium.Wrapper):
    """An environment that records where its process's interpreter is loaded."""

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        #: The address of a type built into the interpreter: equal in two processes
        #: exactly when they run the interpreter's code at the same addresses.
        self.interpreter_at = id(int)


def make_located_env() -> gymnasium.Env:
    """The chapter's CartPole (no added work), saying where its worker's interpreter is."""
    return WhereLoaded(work.make_env(0))


def _personality(flags: int) -> int:
    """Linux's personality(2); -1 where it fails or does not exist."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.personality(ctypes.c_ulong(flags)))
    except (AttributeError, OSError):
        return -1


def randomisation_is_off() -> bool:
    """Whether this process starts new programs without address randomisation."""
    current = _personality(QUERY_PERSONALITY)
    return current != -1 and bool(current & ADDR_NO_RANDOMIZE)


def restart_without_randomisation(argv: list[str]) -> str:
    """Switch address randomisation off and start this program again (does not return
    when it works); return why it could not."""
    if not sys.platform.startswith("linux"):
        return f"address randomisation cannot be switched off on {sys.platform}"
    current = _personality(QUERY_PERSONALITY)
    if current == -1 or _personality(current | ADDR_NO_RANDOMIZE) == -1:
        return ("this system does not let a program switch address randomisation off "
                f"(personality: {os.strerror(ctypes.get_errno()) or 'unavailable'})")
    if not randomisation_is_off():
        return "the personality flag did not stay set"
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-u", "-m", MODULE, *argv])
    return "exec failed"  # pragma: no cover - execv returns only by raising


def measure(rounds: int, steps: int) -> dict[str, Any]:
    """Step one AsyncVectorEnv per start method in turn; see the module's doc."""
    methods = work.start_methods()
    vectors: dict[str, Any] = {}
    rng = np.random.default_rng(work.SEED)
    try:
        for method in methods:
            vectors[method] = gymnasium.vector.AsyncVectorEnv(
                [make_located_env] * NUM_ENVS, context=method,
                autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP)
            vectors[method].reset(seed=work.SEED)
        per_step: dict[str, list[float]] = {method: [] for method in methods}
        # Round 0 is a warm-up (the workers' first steps), not kept.
        for round_index in range(rounds + 1):
            for method in methods if round_index % 2 == 0 else methods[::-1]:
                began = time.perf_counter()
                work.sample_vector(vectors[method], rng, steps)
                if round_index > 0:
                    per_step[method].append((time.perf_counter() - began) / steps)
        here = id(int)
        same = {method: sum(at == here for at in envs.get_attr("interpreter_at"))
                for method, envs in vectors.items()}
    finally:
        for envs in vectors.values():
            work.close_vector(envs)
    return {"available": True, "randomisation_off": randomisation_is_off(),
            "workers": NUM_ENVS, "per_step_s": per_step, "same_addresses": same}


def pin_to_one_cpu() -> int | str:
    """Pin this process (and so every process it starts) to the first CPU it may use;
    return that CPU, or why it could not."""
    if not hasattr(os, "sched_setaffinity"):
        return f"a process cannot be pinned to a CPU on {sys.platform}"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def main(argv: list[str]) -> int:
    """``ROUNDS STEPS [--one-cpu] [--randomisation-off]``: measure, print one JSON line."""
    rounds, steps = int(argv[0]), int(argv[1])
    if RANDOMISATION_OFF in argv and not randomisation_is_off():
        reason = restart_without_randomisation(argv)
        print(json.dumps({"available": False, "reason": reason}))
        return 0
    cpu = None
    if ONE_CPU in argv:
        cpu = pin_to_one_cpu()
        if isinstance(cpu, str):
            print(json.dumps({"available": False, "reason": cpu}))
            return 0
    print(json.dumps({**measure(rounds, steps), "cpu": cpu}))
    return 0


if __name__ == "__main__":
    # The factory must be pickled by reference, from this module under its own name,
    # not from __main__.
    from parbook.chapters.vector_envs import layout

    sys.exit(layout.main(sys.argv[1:]))
