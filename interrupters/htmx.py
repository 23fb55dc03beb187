"""Render a whole page or one block of it, chosen on the HX-Request header."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template
from jinja2_fragments.flask import render_block

from interrupters.extensions import htmx


def is_htmx() -> bool:
    """Return true for an htmx request that is not a boosted full-page navigation."""
    return bool(htmx) and not htmx.boosted


def render_page_or_block(template: str, block: str, **context: Any) -> Response:
    """Render `block` of `template` for htmx, the whole page otherwise."""
    if is_htmx():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body)
    response.vary.add("HX-Request")
    return response


def hx_redirect(location: str) -> Response:
    """Redirect a plain request with 303, an htmx one with HX-Location."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Location"] = location
        return response
    response = make_response("", 303)
    response.headers["Location"] = location
    return response
