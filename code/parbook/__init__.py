"""Parallel Python, Measured: the code behind the book.

One package per measured chapter (``chapters``: the code a page shows, its experiment,
analysis, tables and figures), the building blocks several chapters share (``shared``),
the measurement harness (``bench``: measure, results, machine, statistics), text
formatting and generic tables and figures (``render``), what a page calls (``page``) and
the source articles' reported figures (``sources``).
"""

__version__ = "0.1.0"
