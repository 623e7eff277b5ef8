"""The measurement harness, kept in three separate steps.

- ``measure``: run a case N times after warm-up and keep the raw samples;
- ``results`` (with ``machine``): record samples with the machine's fingerprint as JSON;
- ``report`` (with ``stats``): turn recorded results into tables and figures.

A page never renders from anything but a recorded result, so what a reader downloads
is exactly what the page shows.
"""
