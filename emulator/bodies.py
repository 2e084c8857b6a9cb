"""Reading request bodies as Entra does: a deadline for the body to arrive, and a form that reads as no
parameters at all when it is not a valid form."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

from aiohttp import web

BODY_TIMEOUT = 5.0  # a request body that has not arrived by then is answered, not waited for


class BodyTimeout(web.HTTPRequestTimeout):
    def __init__(self) -> None:
        super().__init__(reason="The request body did not arrive in time")


async def read_body(request: web.Request) -> bytes:
    try:
        return await asyncio.wait_for(request.read(), BODY_TIMEOUT)
    except TimeoutError:
        raise BodyTimeout() from None


def parse_form(raw: bytes) -> dict[str, str]:
    """A form-encoded body; anything else reads as a request without parameters, as Entra treats it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=100)
    except ValueError:
        return {}
    return dict(pairs)
