"""Building blocks several chapters use: the child-process runner, CPU burn, round trips,
the Ray session and the set-up every experiment starts with. No chapter code lives here."""
