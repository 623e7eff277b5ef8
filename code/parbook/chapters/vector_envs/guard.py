"""Article 004's third bug in a vector env: settings filled in under the main guard.

Run as ``python -m parbook.chapters.vector_envs.guard METHOD`` (the experiment does, in
a child interpreter with a time limit). It builds two AsyncVectorEnvs of two workers
each, started with METHOD: one whose factory reads the module-level settings, one whose
factory is given them, and prints what every environment saw when it was built.
Each output line starts with the variant's name, so the experiment can count them.
"""

from __future__ import annotations

import functools
import sys

from gymnasium.vector import AsyncVectorEnv

from parbook.chapters.vector_envs import workload as ve

NUM_ENVS = 2


def report(variant: str, envs: AsyncVectorEnv) -> None:
    """Print what each worker's environment saw when it was built."""
    for index, seen in enumerate(envs.get_attr("seen")):
        print(f"{variant} env {index}: pid {seen['pid']}, main module {seen['main_module']}, "
              f"settings {seen['settings']}")


# [start:guarded-main]
if __name__ == "__main__":
    method = sys.argv[1]
    ve.SETTINGS.setup(simulator_port=4100)  # only this process runs the guarded block
    print(f"parent: main module {__name__}, settings {ve.SETTINGS.values}")

    envs = AsyncVectorEnv([ve.make_env_reading_global] * NUM_ENVS, context=method)
    try:
        report("global", envs)
    finally:
        envs.close(timeout=ve.CLOSE_TIMEOUT_S)

    # The fix: hand the settings to the factory; they travel with it to every worker.
    factory = functools.partial(ve.make_env_with, dict(ve.SETTINGS.values))
    envs = AsyncVectorEnv([factory] * NUM_ENVS, context=method)
    try:
        report("passed", envs)
    finally:
        envs.close(timeout=ve.CLOSE_TIMEOUT_S)
# [end:guarded-main]
