"""The measured chapters, one package each, discovered by name (as asv finds benchmarks).

A chapter's package is named like its page: ``book/the-gil.md`` <-> ``chapters/the_gil/``,
and the command-line and result-file name is the page name (``python -m parbook run
the-gil`` -> ``the-gil.json``). Each package holds what only its chapter uses, in
modules with fixed names:

``__init__.py``
    ``TITLE`` (the page's title) and ``RAY``: how its experiment uses Ray (``None``;
    ``"session"``, a fresh local instance or the cluster at ``RAY_ADDRESS``; or
    ``"own cluster"``, a cluster it starts itself); optionally ``INTERPRETERS = True``
    when its answers depend on the interpreter, so that its page also runs it under every
    interpreter in ``PARBOOK_PYTHONS`` (:mod:`parbook.interpreters`).
``experiment.py``
    the grid, the quick and full sizes, and ``run(quick=False, progress=None) -> Result``.
``analysis.py``
    ``findings(result)``, small frozen dataclasses, and ``texts(findings)``, every
    sentence and number the page glues (a ``dict`` of glue key -> value).
``views.py``
    ``TABLES`` and ``FIGURES``: id -> function of ``(result, findings)`` that makes the
    table or figure the page shows under that id; optionally ``OUTPUTS``, id -> function
    returning the text a demonstration printed, which the page prints as it was; and, in a
    chapter with ``INTERPRETERS``, ``INTERPRETER_TABLES`` (and optionally
    ``INTERPRETER_FIGURES``): id -> function of the runs
    (:class:`parbook.interpreters.InterpreterRun`, the build's own first).
``workload.py`` (and other modules)
    the code the page shows with ``{literalinclude}`` between ``# [start:NAME]`` and
    ``# [end:NAME]`` markers.

Nothing here lists the chapters: adding a package is adding a chapter. No chapter imports
another; what several chapters share lives in :mod:`parbook.shared`.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from types import ModuleType

__all__ = ["Chapter", "UnknownChapter", "get", "names", "page_name", "package_name"]


def page_name(package: str) -> str:
    """``the_gil`` -> ``the-gil``."""
    return package.replace("_", "-")


def package_name(page: str) -> str:
    """``the-gil`` -> ``the_gil``."""
    return page.replace("-", "_")


@dataclass(frozen=True)
class Chapter:
    """One discovered chapter: its page name, title, and its modules, imported on demand."""

    name: str
    title: str
    ray: str | None
    interpreters: bool = False

    @property
    def package(self) -> str:
        """The chapter's package, e.g. ``parbook.chapters.the_gil``."""
        return f"{__name__}.{package_name(self.name)}"

    def module(self, role: str) -> ModuleType:
        """One of the chapter's modules by role: ``experiment``, ``analysis`` or ``views``."""
        return importlib.import_module(f"{self.package}.{role}")

    @property
    def experiment(self) -> ModuleType:
        return self.module("experiment")

    @property
    def analysis(self) -> ModuleType:
        return self.module("analysis")

    @property
    def views(self) -> ModuleType:
        return self.module("views")


class UnknownChapter(KeyError):
    """Raised for a name that is no chapter's page name."""

    def __str__(self) -> str:
        return f"unknown experiment {self.args[0]!r} (known: {', '.join(names())})"


@cache
def _discover() -> dict[str, Chapter]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.ispkg or info.name.startswith("_"):
            continue
        package = importlib.import_module(f"{__name__}.{info.name}")
        name = page_name(info.name)
        found[name] = Chapter(name=name, title=package.TITLE, ray=package.RAY,
                              interpreters=getattr(package, "INTERPRETERS", False))
    return dict(sorted(found.items()))


def names() -> list[str]:
    """Every chapter's page name, sorted."""
    return list(_discover())


def get(name: str) -> Chapter:
    """The chapter whose page is ``book/NAME.md``."""
    try:
        return _discover()[name]
    except KeyError:
        raise UnknownChapter(name) from None
