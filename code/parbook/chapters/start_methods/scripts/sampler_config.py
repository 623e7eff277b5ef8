"""A settings module like article 004's: some fields exist only after ``setup()``."""

# [start:config]
import os
import sys


class Config:
    """Settings known at import, plus those ``setup()`` fills in for a run."""

    def __init__(self) -> None:
        self.root = "config"

    def setup(self, env_name: str) -> None:
        """Fill in the run's settings (article 004's ``kira_conf.setup``)."""
        self.env_name = env_name
        self.server_port = 4100
        print(f"setup() ran in pid {os.getpid()}", flush=True)

    def as_dict(self) -> dict:
        return dict(vars(self))

    def load(self, settings: dict) -> None:
        vars(self).update(settings)


config = Config()


def report(who: str) -> None:
    """Print how this process sees the settings, and what its main module is called."""
    main_name = sys.modules["__main__"].__name__
    print(f"{who}: pid={os.getpid()} main module={main_name} "
          f"id(config)={id(config):#x} settings={config.as_dict()}", flush=True)
# [end:config]


# [start:install]
def install(settings: dict) -> None:
    """Pool initializer: runs once in every worker, before its first task."""
    config.load(settings)


def report_with(who: str, settings: dict) -> None:
    """A child target that receives the settings as an argument."""
    config.load(settings)
    report(who)
# [end:install]
