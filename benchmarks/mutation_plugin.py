"""pytest plugin for benchmarks/mutation.py: tell mutmut every test that can see a function's mutant.

mutmut learns which tests reach a function by attributing the functions called so far to the test being
torn down. Two kinds of call escape that:
- calls made while the tests are imported (a decorator, a policy built at import time, a schema's rules):
  mutmut gives them all to the first test, so a mutant there is judged by a test that never looks at it;
- calls made by a fixture shared by many tests (a module's plan, computed once): they go to the first
  test that used the fixture, and the others that read its result are never run against the mutant.

This plugin gives import-time calls to every collected test, and a shared fixture's calls to every test
that uses the fixture. It is loaded only in mutmut's runs (``-p benchmarks.mutation_plugin``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Generator
from typing import Any

import pytest
from mutmut.state import state

_by_fixture: defaultdict[str, set[str]] = defaultdict(set)
_items: list[pytest.Item] = []
_at_import: set[str] = set()


def _nodeid(item: pytest.Item) -> str:
    # mutmut runs the tests from its mutants/ copy and records their IDs without that prefix.
    return item.nodeid.removeprefix("mutants/")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    _items.extend(session.items)
    _at_import.update(state()._stats)
    state()._stats.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> Generator[None, None, None]:
    before = set(state()._stats)
    state()._stats.clear()
    try:
        yield
    finally:
        hits = set(state()._stats)
        state()._stats.update(before)
        if fixturedef.scope != "function":
            _by_fixture[fixturedef.argname].update(hits)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    tests = state().tests_by_mangled_function_name
    for item in _items:
        node = _nodeid(item)
        for function in _at_import:
            tests[function].add(node)
        for name in getattr(item, "fixturenames", ()):
            for function in _by_fixture.get(name, ()):
                tests[function].add(node)
