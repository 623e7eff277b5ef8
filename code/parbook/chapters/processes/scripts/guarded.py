"""The same script as ``unguarded.py``, with its work behind the ``__main__`` guard.

Run it as ``python guarded.py METHOD``. A child started by ``spawn`` still imports this
file (as ``__mp_main__``) and still runs its top level, and so does the ``forkserver``
child or, from Python 3.13.8 and 3.14.1, the fork server; but the guard keeps the import
from starting processes, so it works under every start method.
"""

# [start:guarded]
import multiprocessing
import os
import sys


def greet() -> None:
    main_module = sys.modules["__main__"].__name__
    print(f"child (pid {os.getpid()}): hello; this script is loaded as {main_module}",
          flush=True)


print(f"top level of the script runs as {__name__} (pid {os.getpid()})", flush=True)


def main(method: str) -> int:
    context = multiprocessing.get_context(method)
    child = context.Process(target=greet)
    child.start()
    child.join(timeout=30)
    print(f"{__name__}: the child ended with exitcode {child.exitcode}", flush=True)
    return child.exitcode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
# [end:guarded]
