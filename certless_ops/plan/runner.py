"""Run the real Pulumi program under Pulumi's mock engine and turn what it registered into a plan."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import heapq
import os
import runpy
import sys
import threading
import warnings
from collections.abc import Coroutine, Iterator, Mapping
from pathlib import Path
from typing import Any

from certless_ops.errors import UserError
from certless_ops.plan import ids
from certless_ops.plan.config import StackConfig
from certless_ops.plan.monitor import InvokeRecord, RecordingEngine, RecordingMonitor, ResourceRecord
from certless_ops.plan.simulator import Environment, Simulator

SCHEMA = "certless.plan/v1"
DEFAULT_LOCATION = "westeurope"


class ProgramError(UserError):
    """The Pulumi program stopped with an error (e.g. its own config validation)."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


def environment_for(cfg: StackConfig, stack_outputs: Mapping[str, Mapping[str, Any]]) -> Environment:
    """Tenant, subscription and region from the stack config, else stable values derived from the stack."""

    def first(*keys: str) -> str | None:
        for key in keys:
            value = cfg.values.get(key)
            if isinstance(value, str) and value:
                return value
        return None

    p = cfg.project
    tenant = first(f"{p}:tenantId", "azure-native:tenantId", "azuread:tenantId")
    tenant = tenant or ids.guid("tenant", cfg.stack)
    return Environment(
        tenant_id=tenant,
        # One subscription per project and tenant: stacks of a release (owner, blue, green) that set none
        # land in the same one, as they would when deployed with one Azure login.
        subscription_id=first(f"{p}:subscriptionId", "azure-native:subscriptionId")
        or ids.guid("subscription", tenant, p),
        location=first("azure-native:location", f"{p}:location") or DEFAULT_LOCATION,
        deployer_client_id=ids.guid("deployer-client", cfg.stack),
        deployer_object_id=ids.guid("deployer-object", cfg.stack),
        stack_outputs=stack_outputs,
    )


@contextlib.contextmanager
def _in_project(project_dir: Path) -> Iterator[None]:
    """cwd and import path as `pulumi preview` would set them for the program."""
    old_cwd = Path.cwd()
    sys.path.insert(0, str(project_dir))
    os.chdir(project_dir)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(project_dir))


def _run_program(
    cfg: StackConfig, monitor: RecordingMonitor, engine: RecordingEngine, preview: bool = False
) -> None:
    import pulumi.runtime as rt
    from pulumi.runtime import settings

    settings.ROOT.set(None)
    settings.configure(
        settings.Settings(
            project=cfg.project,
            stack=cfg.stack,
            monitor=monitor,
            engine=engine,
            # A plan resolves every output so that every apply runs; a preview is the CLI's dry run, where
            # a computed output is unknown and an apply on it never runs.
            dry_run=preview,
            organization="organization",
            root_directory=str(cfg.project_dir),
        )
    )
    rt.set_all_config(dict(cfg.wire), list(cfg.secret_keys))

    def program() -> Coroutine[Any, Any, None]:
        runpy.run_path(str(cfg.main), run_name="__main__")
        return _settle()

    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet_unobserved)
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(rt.run_in_stack(program))
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()


def _in_own_thread(
    cfg: StackConfig, monitor: RecordingMonitor, engine: RecordingEngine, preview: bool = False
) -> None:
    """Run the program on a thread of its own: its own event loop and a fresh copy of the context.

    Callers may already run an event loop (async tests, tools) or hold Pulumi settings of their own;
    neither is disturbed, and Pulumi's global settings do not leak out.
    """
    failure: list[BaseException] = []
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            ctx.run(_run_program, cfg, monitor, engine, preview)
        except BaseException as exc:  # handed to the calling thread
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"certless-plan-{cfg.stack}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


async def _settle() -> None:
    """Wait until every registration and output the program started has finished.

    Pulumi's own final wait (`wait_for_rpcs`) re-arms a FIRST_COMPLETED wait over all pending outputs
    after every single completion, which grows with the square of the outputs of a large program. Waiting
    for all of them at once, then for whatever they started, takes a handful of rounds; Pulumi's wait
    still runs afterwards and reports any failure exactly as before.
    """
    from pulumi.runtime import settings

    while True:
        with settings.SETTINGS.lock:
            outputs = list(settings.SETTINGS.outputs)
        pending = [
            t for t in (*settings._get_rpc_manager().rpcs, *outputs) if not asyncio.ensure_future(t).done()
        ]
        if not pending:
            return
        await asyncio.wait([asyncio.ensure_future(t) for t in pending])


def _quiet_unobserved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # When the program fails, every output that depended on the failure holds the same exception and
    # asyncio would print each one; the failure itself is reported once, by run_plan.
    if "never retrieved" in str(context.get("message", "")):
        return
    loop.default_exception_handler(context)


def _find_user_error(exc: BaseException) -> UserError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, UserError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _describe(exc: BaseException) -> str:
    from pulumi import RunError

    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError):
        text = f"missing key {exc.args[0]!r}" if exc.args else "missing key"
    if not isinstance(exc, RunError) and not isinstance(exc, ValueError):
        text = f"{type(exc).__name__}: {text}"
    return text


def _ignore_abandoned_mock_loops() -> None:
    """Keep Pulumi's abandoned per-thread event loops from printing a traceback when collected.

    Pulumi's mock monitor gives every executor thread an event loop of its own and never closes it.
    After a failed program the garbage collector may finalise such a loop after its self-pipe socket,
    and the loop's ``__del__`` then reports an "Exception ignored" traceback on stderr: noise after a
    user's one-line error, with nothing to act on. Only that exact case is filtered.
    """
    previous = sys.unraisablehook
    if getattr(previous, "_certless_loop_filter", False):
        return

    def hook(unraisable: Any) -> None:
        obj = getattr(unraisable, "object", None)
        if getattr(obj, "__qualname__", "") == "BaseEventLoop.__del__" and isinstance(
            unraisable.exc_value, (ValueError, KeyError, OSError)
        ):
            return
        previous(unraisable)

    hook._certless_loop_filter = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


def run_plan(
    cfg: StackConfig, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None, preview: bool = False
) -> dict[str, Any]:
    """Run the program of `cfg` offline and return the plan document (see docs/plan-schema.md).

    ``preview``: run it as `pulumi preview` does instead (a dry run: computed outputs are unknown).
    """
    _ignore_abandoned_mock_loops()
    env = environment_for(cfg, stack_outputs or {})
    simulator = Simulator(env, preview=preview)
    monitor = RecordingMonitor(simulator)
    engine = RecordingEngine()
    try:
        with _in_project(cfg.project_dir), warnings.catch_warnings():
            # A failed program leaves coroutines that were never awaited; the failure is reported once.
            warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)
            try:
                _in_own_thread(cfg, monitor, engine, preview)
            except BaseException:
                gc.collect()  # while the filter above is active
                raise
    except Exception as exc:
        user_error = _find_user_error(exc)
        if user_error is not None:
            raise user_error from None
        stage = "under preview (computed outputs unknown)" if preview else ""
        raise ProgramError(
            f"the program failed{' ' + stage if stage else ''}: {_describe(exc)}", exc
        ) from None
    if engine.errors:
        raise ProgramError(f"the program failed: {engine.errors[0]}")
    return build_plan(cfg, env, simulator, monitor, engine)


def run_preview(
    cfg: StackConfig, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The program as `pulumi preview` runs it, checked against the plan of the same stack.

    The preview must finish, and it must register every resource the plan registers: a resource declared
    inside an apply (or any branch) on a computed value exists in `pulumi up` but not in `pulumi preview`,
    so the preview, its diff and the policy pack never see it. Returns the preview plan document.
    """
    full = run_plan(cfg, stack_outputs)
    dry = run_plan(cfg, stack_outputs, preview=True)
    seen = {r["urn"] for r in dry["resources"]}
    missing = [r for r in full["resources"] if r["urn"] not in seen]
    if missing:
        shown = ", ".join(f"{r['type']} {r['name']!r}" for r in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise ProgramError(
            f"the program registers {len(missing)} resource(s) that `pulumi preview` would not show: {shown}"
            f"{more}; they are declared inside an apply or a branch on a value known only after deployment."
            " Declare them unconditionally and pass the Output as an input instead"
        )
    dry["simulation"]["preview"] = True
    return dry


def build_plan(
    cfg: StackConfig, env: Environment, sim: Simulator, monitor: RecordingMonitor, engine: RecordingEngine
) -> dict[str, Any]:
    secret = set(cfg.secret_keys)
    return {
        "schema": SCHEMA,
        "project": cfg.project,
        "stack": cfg.stack,
        "config": {k: v for k, v in cfg.values.items() if k not in secret},
        # vars(), not asdict(): the fields already hold plain JSON data, and a deep copy costs ~5% of a run.
        "resources": [dict(vars(r)) for r in ordered(monitor.records)],
        "invokes": _invokes(monitor.invokes),
        "outputs": monitor.stack_outputs,
        # Sorted: warnings logged from apply callbacks arrive in an order that varies between runs.
        "warnings": sorted(set(engine.warnings)),
        "simulation": {
            "tenantId": env.tenant_id,
            "subscriptionId": env.subscription_id,
            "location": env.location,
            "unmodelledTypes": sorted(sim.unmodelled_types),
            "unmodelledInvokes": sorted(sim.unmodelled_invokes),
            "preview": sim.preview,
        },
    }


def _provider_urn(ref: str | None) -> str | None:
    return ref.rsplit("::", 1)[0] if ref else None


def ordered(records: Mapping[str, ResourceRecord]) -> list[ResourceRecord]:
    """Resources in a stable order: each after its parent, provider and dependencies; ties by URN.

    The engine registers resources from a thread pool as their inputs resolve, so arrival order varies
    from run to run; this order does not.
    """
    before: dict[str, set[str]] = {urn: set() for urn in records}
    for rec in records.values():
        for dep in (rec.parent, _provider_urn(rec.provider), rec.deleted_with, *rec.dependencies):
            if dep and dep in records and dep != rec.urn:
                before[rec.urn].add(dep)
    after: dict[str, list[str]] = {urn: [] for urn in records}
    for urn, deps in before.items():
        for dep in deps:
            after[dep].append(urn)
    waiting = {urn: len(deps) for urn, deps in before.items()}
    ready = [urn for urn, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    out: list[ResourceRecord] = []
    while ready:
        urn = heapq.heappop(ready)
        out.append(records[urn])
        for nxt in after[urn]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, nxt)
    if len(out) != len(records):  # a cycle cannot come from Pulumi, but never drop a resource
        seen = {r.urn for r in out}
        out.extend(records[u] for u in sorted(records) if u not in seen)
    return out


def _invokes(records: list[InvokeRecord]) -> list[dict[str, Any]]:
    import json

    counted: dict[str, dict[str, Any]] = {}
    for rec in records:
        key = json.dumps([rec.token, rec.args], sort_keys=True)
        entry = counted.setdefault(
            key, {"token": rec.token, "args": rec.args, "result": rec.result, "count": 0}
        )
        entry["count"] += 1
    return [counted[k] for k in sorted(counted)]
