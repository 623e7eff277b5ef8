"""The fix: settings filled in under the guard, then handed to every child explicitly.

Run by path: ``python config_passed.py METHOD``.
"""

# [start:script]
import multiprocessing
import sys

from sampler_config import config, install, report, report_with

if __name__ == "__main__":
    config.setup("CartPole-v1")
    report("parent ")
    settings = config.as_dict()  # plain data: pickles under every start method
    context = multiprocessing.get_context(sys.argv[1])
    child = context.Process(target=report_with, args=("child 0", settings))
    child.start()
    child.join(timeout=60)
    with context.Pool(1, initializer=install, initargs=(settings,)) as pool:
        pool.apply_async(report, ("child 1",)).get(timeout=60)
# [end:script]
