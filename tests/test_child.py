"""The child-process runner's session helpers, on real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from parbook.shared.child import interruptible_children, session_members, stop_session

#: A child that starts a grandchild in its own session, says so, and sleeps.
PARENT_AND_GRANDCHILD = (
    "import subprocess, sys, time\n"
    "grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "print(grandchild.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def test_a_session_is_found_whole_and_stopped_whole():
    with subprocess.Popen([sys.executable, "-c", PARENT_AND_GRANDCHILD],
                          stdout=subprocess.PIPE, text=True, start_new_session=True) as child:
        try:
            grandchild = int(child.stdout.readline())
            assert set(session_members(child.pid)) == {child.pid, grandchild}
            began = time.monotonic()
            stop_session(child.pid)
            assert session_members(child.pid) == []
            assert time.monotonic() - began < 30
        finally:
            child.kill()
            child.wait(timeout=30)


def test_a_session_that_does_not_exist_has_no_members():
    with subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True) as child:
        child.wait(timeout=30)
    assert session_members(child.pid) == []


def test_interruptible_children_lets_children_take_sigint_and_restores_it():
    before = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with interruptible_children():
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
    handled = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with interruptible_children():  # a handled SIGINT is left alone
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, handled)
