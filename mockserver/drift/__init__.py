"""The contract kit's drift run: probes and Schemathesis against a target, and its reports.

>>> from mockserver.drift import Target, run_drift  # doctest: +SKIP
>>> target = Target.live("https://cloud.goevent.live/developers/v1.0", token)  # doctest: +SKIP
>>> run_drift(target).exit_code  # doctest: +SKIP
0
"""

from __future__ import annotations

from .target import Target, TargetError

__all__ = ["DriftOptions", "DriftResult", "Target", "TargetError", "run_drift"]


def __getattr__(name: str) -> object:
    # The runner imports Schemathesis (about a second): only when a run is asked for.
    if name in ("DriftOptions", "DriftResult", "run_drift"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(name)
