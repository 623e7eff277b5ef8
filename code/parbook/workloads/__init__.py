"""The functions the chapters run and show, grouped by topic.

They live in an importable package (not in notebook cells) so that child processes
started with ``spawn`` or ``forkserver`` can import them by name. Code a chapter shows
is ``literalinclude``d from here between ``# [start:NAME]`` / ``# [end:NAME]`` markers.
"""
