"""What one visit of one URL found."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LinkKind(StrEnum):
    LANDING = "landing"  # the record's landing page
    ACCESS = "access"  # the record's access (download) URL


class LinkStatus(StrEnum):
    OK = "ok"  # 2xx after redirects
    LOGIN_WALL = "login_wall"  # 401/403, or redirected to a login page
    NOT_FOUND = "not_found"  # 404/410
    CLIENT_ERROR = "client_error"  # another 4xx
    SERVER_ERROR = "server_error"  # 5xx
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"  # refused, reset, DNS failure, TLS failure
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REFUSED = "refused"  # the address is not allowed (loopback, private, ...): nothing was sent
    INVALID_URL = "invalid_url"

    @property
    def reachable(self) -> bool:
        return self is LinkStatus.OK


@dataclass
class LinkResult:
    record_id: str
    source_id: str
    kind: LinkKind
    url: str
    status: LinkStatus
    http_status: int | None = None
    final_url: str | None = None
    method: str | None = None  # HEAD, or GET when HEAD was refused
    detail: str | None = None
    elapsed_ms: int | None = None
    checked_at: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"record_id": self.record_id, "source_id": self.source_id, "kind": self.kind.value,
                "url": self.url, "status": self.status.value, "http_status": self.http_status,
                "final_url": self.final_url, "method": self.method, "detail": self.detail,
                "elapsed_ms": self.elapsed_ms, "checked_at": self.checked_at}
