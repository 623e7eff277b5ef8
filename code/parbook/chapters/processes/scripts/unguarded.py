"""A script that starts a process WITHOUT the ``if __name__ == "__main__":`` guard.

Run it as ``python unguarded.py METHOD`` (fork, spawn or forkserver). Under ``spawn`` the
child imports this file again, as ``__mp_main__``, to find ``greet``; the import reaches
``child.start()`` below and multiprocessing refuses with a RuntimeError. Under
``forkserver`` the child does the same up to Python 3.13.7 and in 3.14.0; from 3.13.8 and
3.14.1 the fork server imports the file once, to preload it, and fails there instead, so
the script itself fails. The mistake on purpose: the chapter on processes runs it to show
that.
"""

# [start:unguarded]
import multiprocessing
import os
import sys


def greet() -> None:
    main_module = sys.modules["__main__"].__name__
    print(f"child (pid {os.getpid()}): hello; this script is loaded as {main_module}",
          flush=True)


print(f"top level of the script runs as {__name__} (pid {os.getpid()})", flush=True)
context = multiprocessing.get_context(sys.argv[1])
child = context.Process(target=greet)
child.start()
child.join(timeout=30)
print(f"{__name__}: the child ended with exitcode {child.exitcode}", flush=True)
# [end:unguarded]
