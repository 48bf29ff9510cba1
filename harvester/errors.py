"""The harvester's exceptions, one tree.

Every exception raised on purpose by ``fedcat.harvester`` derives from
:class:`FedcatError`, and each carries the context needed to act on it
(the source id, the URL, the config key)::

    FedcatError
    ├── ConfigError                  a config file or key is wrong (names the key)
    ├── StoreError                   the record store cannot be opened or written
    │   └── LeaseLost                the run's harvest lease expired and another process took it
    ├── CrosswalkError               one record cannot be mapped (isolated, never fatal)
    ├── UnreadablePayload            a payload is not readable as its format (RDF, JSON-LD)
    ├── OverrideError                an officer override names an unknown tag or value
    │   ├── NothingToDecide          no such record, override or pending change
    │   └── DecisionConflict         not allowed in the record's state (confirming one's own change)
    └── HarvestError                 a source could not be harvested (source_id, url)
        ├── TransportError           no usable HTTP answer
        │   ├── RequestTimeout       connect or read timeout, or the response deadline passed
        │   │   └── DeadlineExceeded  a request and its retries outlasted the page deadline
        │   ├── ConnectionFailed     reset, DNS, dropped mid-body
        │   │   └── ConnectionRefused  nothing listens at the address (not retried in a loop)
        │   ├── HTTPStatusError      a status that is neither 2xx nor an OAI error
        │   └── ResponseTooLarge     body over the configured cap
        ├── RetryBudgetExhausted     the source used up its retries
        ├── MalformedResponse        the body is not the protocol's XML or JSON
        │   ├── HostileXML           DTDs, entities or external references
        │   └── HTMLPage             an HTML page (a login or error page) instead of XML (its title)
        ├── ProtocolLoop             repeated resumption token or cursor, endless empty pages
        ├── APIError                 a JSON API's envelope reports a failure (code != 20000, ...)
        └── OAIError                 an OAI-PMH <error code="..."> (one class per code)
            ├── BadArgument
            ├── BadResumptionToken
            ├── BadVerb
            ├── CannotDisseminateFormat
            ├── IdDoesNotExist
            ├── NoMetadataFormats
            ├── NoRecordsMatch       an empty result, handled as success by the adapter
            └── NoSetHierarchy

The index and the API have trees of their own (``fedcat.index.errors``,
``fedcat.api.errors``) rooted at the same :class:`FedcatError`.
"""

from __future__ import annotations


class FedcatError(Exception):
    """Base of every exception fedcat raises on purpose."""


class ConfigError(FedcatError):
    """A configuration problem, naming the offending key (``sources[0].url``)."""

    def __init__(self, message: str, *, key: str | None = None, path: str | None = None) -> None:
        self.key = key
        self.path = path
        self.detail = message
        where = f"{path}: " if path else ""
        what = f"{key}: " if key else ""
        super().__init__(f"{where}{what}{message}")


class OverrideError(FedcatError):
    """An override's tag or value is not in the vocabulary."""


class NothingToDecide(OverrideError):
    """The record, override or pending change an officer names does not exist."""


class DecisionConflict(OverrideError):
    """An officer's decision does not fit the record's state (four eyes need two officers)."""


class StoreError(FedcatError):
    """The record store failed."""


class LeaseLost(StoreError):
    """A run's harvest lease expired (its process stalled or lost the store) and another process may hold
    it: the run writes nothing more and ends; the holder resumes from the checkpoint."""


class CrosswalkError(FedcatError):
    """One record could not be mapped into the record model."""

    def __init__(self, message: str, *, source_id: str, local_id: str | None = None) -> None:
        self.source_id = source_id
        self.local_id = local_id
        super().__init__(f"[{source_id}:{local_id or '?'}] {message}")


class UnreadablePayload(FedcatError):
    """A payload cannot be read as the serialisation it claims (the crosswalk names the record)."""


class HarvestError(FedcatError):
    """A source could not be harvested (or one request to it failed)."""

    def __init__(self, message: str, *, source_id: str | None = None, url: str | None = None) -> None:
        self.source_id = source_id
        self.url = url
        self.message = message
        context = " ".join(p for p in (f"[{source_id}]" if source_id else "", url or "") if p)
        super().__init__(f"{context} {message}".strip())


class TransportError(HarvestError):
    """No usable HTTP answer was received."""


class RequestTimeout(TransportError):
    """The connect or read timeout expired, or the response took longer than its deadline."""


class DeadlineExceeded(RequestTimeout):
    """A request and its retries together took longer than the page deadline: no more retries."""


class ConnectionFailed(TransportError):
    """The connection was refused, reset or dropped."""


class ConnectionRefused(ConnectionFailed):
    """Nothing listens at the source's address: a wrong port or a server that is down."""


class HTTPStatusError(TransportError):
    """The server answered with a status that cannot be used."""

    def __init__(self, message: str, *, status: int, source_id: str | None = None, url: str | None = None) -> None:
        self.status = status
        super().__init__(message, source_id=source_id, url=url)


class ResponseTooLarge(TransportError):
    """The response body exceeded the configured size cap."""


class RetryBudgetExhausted(HarvestError):
    """The source's retry budget ran out."""


class MalformedResponse(HarvestError):
    """The body could not be parsed as the protocol's payload."""


class HostileXML(MalformedResponse):
    """The XML carries a DTD, entity declarations or external references."""


class HTMLPage(MalformedResponse):
    """An HTML page (a login, maintenance or error page) came instead of XML; ``title`` is its <title>."""

    def __init__(self, message: str, *, title: str | None = None, source_id: str | None = None,
                 url: str | None = None) -> None:
        self.title = title
        super().__init__(message, source_id=source_id, url=url)


class ProtocolLoop(HarvestError):
    """The server keeps sending the same resumption token or endless empty pages."""


class APIError(HarvestError):
    """A JSON API answered with a failure envelope; ``code`` and the server's message are kept."""

    def __init__(self, message: str, *, code: str | None = None, source_id: str | None = None,
                 url: str | None = None) -> None:
        self.code = code
        super().__init__(message, source_id=source_id, url=url)


class OAIError(HarvestError):
    """An OAI-PMH error answer; ``code`` is the OAI error code."""

    code = "unknown"

    def __init__(self, message: str = "", *, source_id: str | None = None, url: str | None = None) -> None:
        super().__init__(f"OAI-PMH {self.code}: {message}".rstrip(": "), source_id=source_id, url=url)
        self.description = message


class BadArgument(OAIError):
    code = "badArgument"


class BadResumptionToken(OAIError):
    code = "badResumptionToken"


class BadVerb(OAIError):
    code = "badVerb"


class CannotDisseminateFormat(OAIError):
    code = "cannotDisseminateFormat"


class IdDoesNotExist(OAIError):
    code = "idDoesNotExist"


class NoMetadataFormats(OAIError):
    code = "noMetadataFormats"


class NoRecordsMatch(OAIError):
    code = "noRecordsMatch"


class NoSetHierarchy(OAIError):
    code = "noSetHierarchy"


OAI_ERRORS: dict[str, type[OAIError]] = {
    cls.code: cls
    for cls in (
        BadArgument,
        BadResumptionToken,
        BadVerb,
        CannotDisseminateFormat,
        IdDoesNotExist,
        NoMetadataFormats,
        NoRecordsMatch,
        NoSetHierarchy,
    )
}


def oai_error(code: str, message: str, *, source_id: str | None = None, url: str | None = None) -> OAIError:
    """Build the exception for an OAI error code (unknown codes give a plain OAIError)."""
    cls = OAI_ERRORS.get(code)
    if cls is None:
        err = OAIError(f"{code}: {message}", source_id=source_id, url=url)
        return err
    return cls(message, source_id=source_id, url=url)
