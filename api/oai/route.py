"""``GET`` and ``POST /oai``: the OAI-PMH endpoint (arguments in the query string, or form-encoded in the
body as the protocol allows). Answers are ``text/xml`` with HTTP 200, errors included."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..audience import Caller
from ..deps import catalog_of
from . import provider as oai_provider
from .provider import Provider, Repository
from .repository import StorePublished

router = APIRouter()

#: Longest request body read (the arguments of one request fit in far less).
MAX_BODY = 64 * 1024


@router.get("/oai", include_in_schema=False)
def oai_get(request: Request) -> Response:
    return _answer(request, list(request.query_params.multi_items()))


@router.post("/oai", include_in_schema=False)
async def oai_post(request: Request) -> Response:
    body = (await request.body())[:MAX_BODY].decode("utf-8", errors="replace")
    return _answer(request, parse_qsl(body, keep_blank_values=True))


def _answer(request: Request, args: list[tuple[str, str]]) -> Response:
    catalog = catalog_of(request)
    config = catalog.config
    public = Caller.anonymous(config.api)
    repo = Repository(name=config.oai.repository_name, base_url=str(request.base_url).rstrip("/") + "/oai",
                      admin_emails=tuple(config.oai.admin_emails) or (f"fedcat@{config.oai.identifier_domain}",),
                      domain=config.oai.identifier_domain,
                      key=hashlib.sha256(f"oai:{catalog.store.store_id}".encode()).digest())
    provider = Provider(repo, StorePublished(catalog.store, config, public), page_size=oai_provider.PAGE_SIZE)
    return Response(provider.answer(args), media_type="text/xml; charset=utf-8")
