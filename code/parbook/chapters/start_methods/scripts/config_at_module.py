"""Article 004's workaround: the settings are filled in at module level, outside the guard.

Run by path: ``python config_at_module.py METHOD``.
"""

# [start:script]
import sys

from sampler_config import config, report

from parbook.chapters.start_methods.workload import start_one_by_one

config.setup("CartPole-v1")  # runs whenever this file is executed or re-imported

if __name__ == "__main__":
    report("parent ")
    start_one_by_one(sys.argv[1], report, ["child 0", "child 1"])
# [end:script]
