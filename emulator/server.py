"""HTTP plumbing: three aiohttp listeners (Entra over HTTPS, IMDS and App Service over HTTP) with one
request wrapper that counts, logs (never token values), applies faults and limits, and turns every
failure into the calling service's own error shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from emulator import control
from emulator.aks import issuer as aks_issuer
from emulator.bodies import BodyTimeout
from emulator.directory import Clock, Directory, Host
from emulator.entra import routes as entra_routes
from emulator.entra.service import Entra
from emulator.faults import ENDPOINTS, MALFORMED_BODIES, Fault, FaultPlan
from emulator.keys import SigningKey
from emulator.managed_identity import routes as mi_routes
from emulator.managed_identity.endpoints import ManagedIdentityEndpoints
from emulator.managed_identity.limits import IdentityLimits, Limiter
from emulator.wire_errors import AppServiceError, EntraError, ImdsError

log = logging.getLogger("emulator")
# A handler answers a JSON body, or (the sign-in pages) a response of its own.
Handler = Callable[[web.Request, dict[str, Any]], Awaitable[dict[str, Any] | web.StreamResponse]]
_MAX_LOG = 10_000


class Services:
    """Everything the listeners serve; the Emulator owns one and drives its lifecycle."""

    def __init__(
        self,
        *,
        directory: Directory,
        clock: Clock,
        faults: FaultPlan,
        entra_key: SigningKey,
        issuer_keys: dict[str, SigningKey],
        cluster_keys: dict[str, SigningKey],
        limits: IdentityLimits | None,
        cache_identity_tokens: bool = True,
    ) -> None:
        self.directory = directory
        self.clock = clock
        self.faults = faults
        self.entra = Entra(directory, clock, faults, entra_key, issuer_keys)
        self.cluster_keys = cluster_keys  # cluster name -> key, for the AKS issuer endpoints
        self.mi = ManagedIdentityEndpoints(self.entra, faults, cache_tokens=cache_identity_tokens)
        self.limiter = Limiter(limits)
        self._log_lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.counters: dict[str, int] = dict.fromkeys(ENDPOINTS, 0)
        self.internal_errors: list[str] = []
        self.on_request: Callable[[dict[str, Any]], None] | None = None
        self._stopping = asyncio.Event()
        # The control endpoint's secret for this run; `python -m emulator user-token` reads it from the state.
        self.control_secret = secrets.token_urlsafe(32)

    # ---- the wrapper ----------------------------------------------------------------------------------

    async def serve(
        self,
        request: web.Request,
        endpoint: str,
        shape: str,
        handler: Handler,
        host: Host | None = None,
    ) -> web.StreamResponse:
        entry: dict[str, Any] = {
            "time": time.time(),
            "endpoint": endpoint,
            "method": request.method,
            "path": request.path,
        }
        if host is not None:
            entry["host"] = host.name
        limit_key = (
            f"{endpoint}:{host.name}" if host is not None and shape in ("imds", "appservice") else None
        )
        entered = False
        try:
            with self._log_lock:
                self.counters[endpoint] += 1
            if limit_key is not None:
                if not self.limiter.try_enter(limit_key):
                    entry["limited"] = True
                    return self._finish(entry, self._status_fault(shape, Fault("status", 429, 1), entry))
                entered = True
            delay = self.faults.latency_for(endpoint)
            if delay:
                await asyncio.sleep(delay)
            fault = self.faults.next_fault(endpoint)
            if fault is not None:
                entry["fault"] = fault.kind if fault.kind != "status" else str(fault.status)
                return self._finish(entry, await self._apply_fault(request, shape, fault, entry))
            body = await handler(request, entry)
            if isinstance(body, web.StreamResponse):
                return self._finish(entry, body)
            return self._finish(entry, web.json_response(body))
        except web.HTTPException as exc:  # e.g. 413 from aiohttp's body size limit
            entry["error_code"] = exc.status
            response = self._status_fault(shape, Fault("status", exc.status), entry, exc.reason)
            if isinstance(exc, BodyTimeout):
                response.force_close()  # the rest of the body may still come: this connection is done
            return self._finish(entry, response)
        except HttpProcessingError as exc:  # a body aiohttp could not parse (bad chunk, short length)
            entry["error_code"] = 400
            reason = (exc.message or "Bad Request").splitlines()[0][:200]
            return self._finish(entry, self._status_fault(shape, Fault("status", 400), entry, reason))
        except ConnectionError:  # the client went away mid-request: no one to answer
            entry["error_code"] = "disconnected"
            return self._finish(entry, web.Response(status=499))
        except EntraError as exc:
            entry["error_code"] = exc.code
            return self._finish(entry, _json(exc.body(self.clock.now()), exc.status))
        except ImdsError as exc:
            entry["error_code"] = exc.error
            return self._finish(entry, _json(exc.body(), exc.status))
        except AppServiceError as exc:
            entry["error_code"] = exc.status
            return self._finish(entry, _json(exc.body(), exc.status))
        except Exception as exc:  # an emulator bug: answer in the service's shape, keep the detail for tests
            log.exception("emulator: internal error on %s %s", request.method, request.path)
            self.internal_errors.append(f"{endpoint}: {type(exc).__name__}: {exc}")
            return self._finish(entry, self._status_fault(shape, Fault("status", 500), entry))
        finally:
            if entered and limit_key is not None:
                self.limiter.leave(limit_key)

    def _finish(self, entry: dict[str, Any], response: web.StreamResponse) -> web.StreamResponse:
        entry["status"] = response.status
        with self._log_lock:
            self.requests.append(entry)
            if len(self.requests) > _MAX_LOG:
                del self.requests[: _MAX_LOG // 10]
        if self.on_request is not None:
            try:
                self.on_request(dict(entry))
            except Exception:  # a watcher's bug must not break the answer
                log.exception("emulator: on_request callback failed")
        return response

    def _status_fault(
        self, shape: str, fault: Fault, entry: dict[str, Any], reason: str = ""
    ) -> web.Response:
        status = fault.status
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if shape == "entra":
            code = {429: 50196, 503: 90033}.get(status, 90100)
            text = {
                429: "The server has received too many requests and is throttling this client.",
                503: "A transient error has occurred. Please try again.",
            }.get(status, reason or "An unexpected error occurred on the server.")
            body: dict[str, Any] = EntraError(code, text).body(self.clock.now())
            entry.setdefault("error_code", code)
        elif shape == "appservice":
            body = {"statusCode": status, "message": reason or _reason(status)}
        else:
            text = reason or _reason(status)
            body = {"error": text.lower().replace(" ", "_"), "error_description": text}
        return _json(body, status, headers)

    async def _apply_fault(
        self, request: web.Request, shape: str, fault: Fault, entry: dict[str, Any]
    ) -> web.StreamResponse:
        if fault.kind == "status":
            return self._status_fault(shape, fault, entry)
        if fault.kind == "unreachable":
            # What a container runtime's proxy answers when no IMDS exists (e.g. Docker Desktop).
            return web.Response(
                status=403,
                text="connecting to 169.254.169.254:80: connecting to 169.254.169.254:80: dial tcp "
                "169.254.169.254:80: connect: host is unreachable",
                content_type="text/plain",
            )
        if fault.kind == "malformed":
            body = MALFORMED_BODIES[fault.variant]
            kind = "text/html" if body.startswith("<") else "application/json"
            return web.Response(status=200, text=body, content_type=kind)
        if fault.kind == "timeout":
            # Hold the connection past the client's timeout, then drop it without an answer.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=fault.hold_seconds)
        _reset(request)
        return web.Response(status=499)

    def stop_holding(self) -> None:
        self._stopping.set()

    def reset_holding(self) -> None:
        self._stopping = asyncio.Event()  # on the loop that serves from now on

    # ---- the three listeners ----------------------------------------------------------------------------

    def entra_app(self) -> web.Application:
        """Entra (discovery, keys, token endpoint) and the AKS clusters' OIDC issuers, over HTTPS."""
        app = web.Application(middlewares=[self._shape_middleware("entra")])
        entra_routes.add_routes(app.router, self)
        aks_issuer.add_routes(app.router, self)
        control.add_routes(app.router, self, self.control_secret)
        return app

    def imds_app(self) -> web.Application:
        app = web.Application(middlewares=[self._shape_middleware("imds")])
        mi_routes.add_imds_routes(app.router, self)
        return app

    def appservice_app(self) -> web.Application:
        app = web.Application(middlewares=[self._shape_middleware("appservice")])
        mi_routes.add_appservice_routes(app.router, self)
        return app

    # ---- unknown paths and methods in each service's shape ----------------------------------------------

    def _shape_middleware(self, shape: str) -> Any:
        @web.middleware
        async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
            try:
                response: web.StreamResponse = await handler(request)
                return response
            except web.HTTPException as exc:
                status = exc.status
                if shape == "entra":
                    code = 900561 if status == 405 else 90100
                    message = (
                        f"The endpoint only accepts POST requests. Received a {request.method} request."
                        if status == 405 and request.path.endswith("/token")
                        else f"{exc.reason}: {request.method} {request.path}"
                    )
                    return _json(EntraError(code, message).body(self.clock.now()), status)
                if shape == "appservice":
                    return _json({"statusCode": status, "message": f"{exc.reason}: {request.path}"}, status)
                return _json(
                    {
                        "error": "not_found" if status == 404 else "bad_request",
                        "error_description": exc.reason,
                    },
                    status,
                )

        return middleware


class _ShapedHandler(RequestHandler):
    """aiohttp's connection handler, answering requests it cannot parse (bad request line, header,
    length or chunk) in the listening service's JSON shape, logged in one line without a traceback."""

    answer: Callable[[int, str], web.Response]

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        reason = (message or (str(exc) if exc else "") or _reason(status)).splitlines()[0][:200]
        log.info("emulator: malformed request answered %s: %s", status, reason)
        if request.writer.output_size > 0:  # as aiohttp: an answer already started cannot be replaced
            raise ConnectionError("Response is sent already, cannot send another response")
        response = self.answer(status, reason)
        response.force_close()
        return response


class _ShapedServer(web.Server):
    answer: Callable[[int, str], web.Response]

    def __call__(self) -> RequestHandler:
        handler = _ShapedHandler(self, loop=self._loop, **self._kwargs)
        handler.answer = self.answer
        return handler


def shape_protocol_errors(server: web.Server | None, services: Services, shape: str) -> None:
    """Make ``server`` (an AppRunner's, after setup) answer unparseable requests in ``shape``."""
    if server is None:
        return
    server.__class__ = _ShapedServer  # aiohttp builds its handler in Server.__call__: the one hook
    cast(_ShapedServer, server).answer = lambda status, reason: services._status_fault(
        shape, Fault("status", status), {}, reason
    )


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers or {}
    )


def _reason(status: int) -> str:
    return {
        404: "Not Found",
        410: "Gone",
        429: "Too Many Requests",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }.get(status, "Error")


def _reset(request: web.Request) -> None:
    """Close the connection with a TCP RST, as a crashed or overloaded endpoint does."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
