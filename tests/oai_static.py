"""A small OAI-PMH provider on loopback serving fixed metadata documents in any format.

It answers Identify, ListMetadataFormats and ListRecords (``page_size`` records per page, with
resumption tokens) for the records it is given: (identifier, datestamp, prefix → metadata XML).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

OAI_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            '<responseDate>2024-01-01T00:00:00Z</responseDate><request>{url}</request>')


@dataclass
class StaticRecord:
    identifier: str
    datestamp: str
    metadata: dict[str, str]
    deleted: bool = False


@dataclass
class StaticOAI:
    records: list[StaticRecord]
    page_size: int = 2
    requests: list[str] = field(default_factory=list)

    def answer(self, url: str, params: dict[str, str]) -> str:
        verb = params.get("verb")
        head = OAI_HEAD.format(url=escape(url))
        if verb == "Identify":
            return head + ("<Identify><repositoryName>static</repositoryName><baseURL>" + escape(url) + "</baseURL>"
                           "<protocolVersion>2.0</protocolVersion><earliestDatestamp>2000-01-01</earliestDatestamp>"
                           "<deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DD</granularity>"
                           "</Identify></OAI-PMH>")
        if verb == "ListMetadataFormats":
            prefixes = sorted({p for r in self.records for p in r.metadata})
            body = "".join(f"<metadataFormat><metadataPrefix>{p}</metadataPrefix><schema>urn:{p}</schema>"
                           f"<metadataNamespace>urn:{p}</metadataNamespace></metadataFormat>" for p in prefixes)
            return head + f"<ListMetadataFormats>{body}</ListMetadataFormats></OAI-PMH>"
        if verb == "ListRecords":
            token = params.get("resumptionToken")
            prefix, start = (token.split(":", 1)[0], int(token.split(":", 1)[1])) if token else \
                (params.get("metadataPrefix", ""), 0)
            chosen = [r for r in self.records if prefix in r.metadata or r.deleted]
            if not chosen:
                return head + '<error code="noRecordsMatch">none</error></OAI-PMH>'
            page = chosen[start:start + self.page_size]
            more = start + self.page_size < len(chosen)
            items = "".join(self._record(r, prefix) for r in page)
            tok = f"<resumptionToken>{prefix}:{start + self.page_size}</resumptionToken>" if more else \
                "<resumptionToken/>"
            return head + f"<ListRecords>{items}{tok}</ListRecords></OAI-PMH>"
        return head + '<error code="badVerb">unsupported</error></OAI-PMH>'

    @staticmethod
    def _record(r: StaticRecord, prefix: str) -> str:
        status = ' status="deleted"' if r.deleted else ""
        header = (f"<header{status}><identifier>{escape(r.identifier)}</identifier>"
                  f"<datestamp>{r.datestamp}</datestamp></header>")
        if r.deleted:
            return f"<record>{header}</record>"
        return f"<record>{header}<metadata>{r.metadata[prefix]}</metadata></record>"


class StaticOAIServer:
    def __init__(self, repo: StaticOAI) -> None:
        self.repo = repo
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib naming
                parts = urlsplit(self.path)
                owner.repo.requests.append(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                body = owner.repo.answer(owner.url, params).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/oai"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> StaticOAIServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
