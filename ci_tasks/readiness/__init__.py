"""Release readiness: a weighted score over evidence, a gate, a checklist and a cache.

The model and score (:mod:`.model`), the checks (:mod:`.checks`), the evidence they
read (:mod:`.evidence`), the GitHub client (:mod:`.github`), the checklist
(:mod:`.checklist`) and the cache (:mod:`.cache`); :mod:`.session` is the stage.
"""

from __future__ import annotations

from ci_tasks.readiness.model import Check, Result, Status, score
from ci_tasks.readiness.session import Options, readiness, register, run

__all__ = ["Check", "Options", "Result", "Status", "readiness", "register", "run", "score"]
