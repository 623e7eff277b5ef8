"""Parallel Python, Measured: the code behind the book.

The package holds what the chapters run and show (``workloads``), the measurement
harness (``bench``: measure -> record -> render), one module per experiment the book
shows (``experiments``) and the source articles' reported figures (``sources``).
"""

__version__ = "0.1.0"
