"""The web pages for researchers and data-center staff: search, record pages, center dashboards.

Server-rendered (Jinja2 templates, SVG charts drawn on the server, one CSS
file, no script needed). Pages see exactly what the API shows the same caller:
the anonymous audience, or the audience of an API key sent in a header or kept
in the ``fedcat_key`` cookie (set at ``/key``).
"""

from fastapi import APIRouter

from . import dashboard, key, record, review, search

router = APIRouter()
for _module in (search, record, dashboard, key, review):
    router.include_router(_module.router)

__all__ = ["router"]
