"""Article 004's bug: the run's settings are filled in under the main guard only.

Run by path: ``python config_in_guard.py METHOD``.
"""

# [start:script]
import sys

from sampler_config import config, report

from parbook.chapters.start_methods.workload import start_one_by_one

if __name__ == "__main__":
    config.setup("CartPole-v1")  # runs in this process, and in no re-import of this file
    report("parent ")
    start_one_by_one(sys.argv[1], report, ["child 0", "child 1"])
# [end:script]
