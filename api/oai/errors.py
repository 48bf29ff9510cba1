"""The OAI-PMH error conditions, one class per code (OAI-PMH 2.0, section 3.6). Each is answered with HTTP
200 and an ``<error code="...">`` element, never with an HTTP error status."""

from __future__ import annotations


class OAIProblem(Exception):
    """An OAI-PMH error condition; ``code`` is the protocol's name for it."""

    code = "badArgument"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadArgument(OAIProblem):
    code = "badArgument"


class BadResumptionToken(OAIProblem):
    code = "badResumptionToken"


class BadVerb(OAIProblem):
    code = "badVerb"


class CannotDisseminateFormat(OAIProblem):
    code = "cannotDisseminateFormat"


class IdDoesNotExist(OAIProblem):
    code = "idDoesNotExist"


class NoRecordsMatch(OAIProblem):
    code = "noRecordsMatch"


class NoMetadataFormats(OAIProblem):
    code = "noMetadataFormats"


class NoSetHierarchy(OAIProblem):
    code = "noSetHierarchy"
