"""Small experiments for the command line's own tests, importable by a measuring process
(``python -m parbook.supervise tests.experiments.NAME ...``): each stands for one way a
real experiment can end."""
