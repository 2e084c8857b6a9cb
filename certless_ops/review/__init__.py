"""Offline review: evaluate the policy pack in ``policy/`` on a plan, through pulumi_policy's analyzer.

``review_plan(plan, pack_config)`` is the API (the review command and the benchmark call it); it
returns a ``Review`` with every diagnostic the pack reported, per resource (Analyze) and for the whole
stack (AnalyzeStack).
"""

from certless_ops.review.analyzer import Review, Violation, review_plan
from certless_ops.review.pack_config import PackConfig, load_pack_config

__all__ = ["PackConfig", "Review", "Violation", "load_pack_config", "review_plan"]
