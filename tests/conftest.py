"""Shared test setup: a non-interactive matplotlib backend and hypothesis profiles."""

import matplotlib

matplotlib.use("Agg")  # here only: exporting MPLBACKEND would change nbval's figure outputs

from hypothesis import HealthCheck, settings  # noqa: E402

# CI gets more examples; a developer's run stays quick. Deadlines are off
# because a 2-core machine running notebooks alongside is noisy.
settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# CI derives each test's examples from a seed fixed by the test (derandomize), so runs
# mostly see the same cases (one run under pytest-xdist still met a new one);
# `--hypothesis-profile=thorough` (2,000 examples) hunts for such cases before CI does.
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if __import__("os").environ.get("CI") else "default")
