"""300 generated bad values through the stack-config reader: each a one-line ConfigError naming the key."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from main_runner import shipped

from stackconfig import ConfigError, load

BASE = shipped("prod")
# (path into the config, the key the error must name)
TARGETS = [
    (("certless:tenantId",), "certless:tenantId"),
    (("certless:color",), "certless:color"),
    (("certless:cloud",), "certless:cloud"),
    (
        ("certless:workloads", "orders-api", "containerApp", "targetPort"),
        "orders-api.containerApp.targetPort",
    ),
    (("certless:workloads", "orders-api", "containerApp", "image"), "orders-api.containerApp.image"),
    (("certless:workloads", "orders-api", "kind"), "orders-api.kind"),
]
junk = st.one_of(
    st.text(max_size=200).filter(lambda s: s.strip() and not s.isascii()),
    st.integers(min_value=70000),
    st.floats(allow_nan=True),
    st.lists(st.integers(), min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), min_size=1, max_size=2),
    st.text(min_size=2000, max_size=5000, alphabet="xyz["),
    st.dates().map(str).map(lambda d: d + "T00:00"),
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(target=st.sampled_from(TARGETS), value=junk)
def test_generated_bad_values_are_clean_errors_naming_the_key(
    target: tuple[tuple[str, ...], str], value: Any
) -> None:
    path, named = target
    cfg = copy.deepcopy(BASE)
    node = cfg
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    try:
        load(cfg, set(), "prod")
    except ConfigError as err:
        message = str(err)
        assert named in message and "\n" not in message and len(message) < 600, message
    else:
        raise AssertionError(f"accepted {value!r} at {named}")
