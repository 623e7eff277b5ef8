"""Rendering: every text format in one module (:mod:`parbook.render.formatting`), generic
tables (:mod:`parbook.render.tables`) and figures (:mod:`parbook.render.figures`).

Chapters build their own tables and figures from these; nothing here knows a chapter.
"""
