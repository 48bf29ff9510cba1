"""Sickle over fedcat's transport: requests through :class:`~fedcat.harvester.sources.http.HttpClient`,
answers parsed by :func:`fedcat.harvester.sources.xml.parse` (a broken ``ListRecords`` page salvaged
record by record), ``<error>`` answers turned into fedcat's OAI error classes whatever the HTTP status."""

from __future__ import annotations

import logging

from lxml import etree
from sickle import Sickle
from sickle.iterator import OAIResponseIterator

from ..errors import (
    HostileXML,
    HTMLPage,
    MalformedResponse,
    oai_error,
)
from .http import HttpClient, Response
from .oai_salvage import BadRecord, adopt_namespace, is_truncated, salvage
from .xml import parse

log = logging.getLogger(__name__)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
NS = {"oai": OAI_NS}
#: OAI errors may come with these statuses; their body is still an OAI answer.
OAI_ERROR_STATUSES = frozenset({400, 404, 422})


class OAIResponse:
    """Sickle's response interface over a :class:`Response` with a safe parse.

    A complete page broken by bad records is salvaged (``bad_records``); an
    envelope without the OAI namespace is given it. A page not read in its
    declared encoding is logged as a warning (kept in ``warnings``); a hostile
    page or an HTML page is never salvaged.
    """

    def __init__(self, response: Response, params: dict[str, str], *, source_id: str | None = None) -> None:
        self.http_response = response
        self.params = params
        self.bad_records: list[BadRecord] = []
        self.warnings: list[str] = []

        def warn(message: str) -> None:
            self.warnings.append(message)
            log.warning("[%s] %s: %s", source_id or "?", response.url, message)

        try:
            root = parse(response.body, declared_encoding=response.encoding, what="OAI-PMH response", warn=warn)
        except (HostileXML, HTMLPage):
            raise
        except MalformedResponse as exc:
            if params.get("verb") != "ListRecords" and "resumptionToken" not in params:
                raise
            try:
                root, self.bad_records = salvage(response.body, response.encoding)
            except MalformedResponse as unsalvaged:
                raise MalformedResponse(f"{exc.message}; {unsalvaged.message}") from None
        if etree.QName(root).namespace is None and etree.QName(root).localname == "OAI-PMH":
            root = adopt_namespace(root)
        self.xml = root

    @property
    def raw(self) -> str:
        return self.http_response.body.decode("utf-8", errors="replace")


class FedcatSickle(Sickle):  # type: ignore[misc]
    """Sickle with fedcat's HTTP client and error mapping."""

    def __init__(self, endpoint: str, client: HttpClient, *, source_id: str) -> None:
        super().__init__(endpoint, iterator=OAIResponseIterator)
        self.client = client
        self.source_id = source_id
        self.last_url = endpoint

    def harvest(self, **kwargs: str) -> OAIResponse:
        resp = self._fetch(kwargs)
        try:
            oai = OAIResponse(resp, kwargs, source_id=self.source_id)
        except HostileXML as exc:
            raise HostileXML(exc.message, source_id=self.source_id, url=resp.url) from None
        except HTMLPage as exc:
            title = f" (title: {exc.title!r})" if exc.title else ""
            raise HTMLPage(f"not an OAI-PMH response: HTML page instead of XML{title}, HTTP {resp.status}",
                           title=exc.title, source_id=self.source_id, url=resp.url) from None
        except MalformedResponse as exc:
            raise MalformedResponse(f"not an OAI-PMH response: {exc.message}", source_id=self.source_id,
                                    url=resp.url) from None
        root = oai.xml
        if etree.QName(root).namespace != OAI_NS:
            raise MalformedResponse(
                f"not an OAI-PMH response (root element <{etree.QName(root).localname}>, HTTP {resp.status})",
                source_id=self.source_id, url=resp.url,
            )
        error = root.find("oai:error", NS)
        if error is not None:
            raise oai_error(error.get("code", "unknown"), (error.text or "").strip(),
                            source_id=self.source_id, url=resp.url)
        if resp.status >= 300:
            raise MalformedResponse(f"HTTP {resp.status} without an OAI error", source_id=self.source_id, url=resp.url)
        return oai

    def _fetch(self, params: dict[str, str]) -> Response:
        """GET with the client's retries; a body cut short (no closing tag) is fetched again."""
        attempt = 0
        while True:
            resp = self.client.request("GET", self.endpoint, params=params, ok_statuses=OAI_ERROR_STATUSES)
            self.last_url = resp.url
            if not is_truncated(resp.body, resp.encoding):
                return resp
            attempt += 1
            if attempt > self.client.policy.max_retries:
                raise MalformedResponse(f"response truncated ({len(resp.body)} bytes) after {attempt} tries",
                                        source_id=self.source_id, url=resp.url)
            self.client.spend_retry("truncated", resp.url)
            log.warning("[%s] %s: truncated body, retry %d", self.source_id, resp.url, attempt)
