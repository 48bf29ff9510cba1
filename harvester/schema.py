"""What the typed file formats share: strict value types, the model settings, and errors naming the key.

The config (:mod:`.config_schema`), the REST profiles (:mod:`.rest.profile_schema`) and the tagging
rules files are pydantic dataclasses declared with :data:`SCHEMA`. :func:`validate` builds one from
parsed YAML and turns a pydantic ``ValidationError`` into a :class:`ConfigError` naming the file and
the dotted key (``sources[1].url: expected a string, got 42``); :func:`json_schema` publishes the
JSON Schema of one (``fedcat schema``). Validation here is structure only: no file is read.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from typing import Annotated, Any, TypeVar, Union

from pydantic import ConfigDict, Strict, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from .errors import ConfigError

#: Every schema refuses unknown keys; the docstring under a field is its description in the JSON Schema.
SCHEMA = ConfigDict(extra="forbid", use_attribute_docstrings=True)

T = TypeVar("T")
#: Values are taken as YAML typed them: no ``"3"`` for 3, no 1 for true (a number may be an integer).
Str = Annotated[str, Strict()]
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]
List = Annotated[list[T], Strict()]
Dict = Annotated[dict[str, T], Strict()]

#: The published schemas are JSON Schema draft 7, which editors' YAML support reads in full (the keywords
#: pydantic writes mean the same there; its ``$defs`` become draft 7's ``definitions``).
DIALECT = "http://json-schema.org/draft-07/schema#"
#: A dataclass field with this metadata is no key of the file (``Config.path``: where it was read from).
NOT_A_KEY = {"config_key": False}


def validate(model: type[T], data: Any, *, key: str = "", path: str | None = None) -> T:
    """``data`` (parsed YAML) as a ``model``; a ConfigError names ``path`` and the key below ``key``."""
    if isinstance(data, dict):
        keys = config_keys(model)
        for k in data:  # as pydantic would, but a field that is no key is unknown too
            if k not in keys:
                raise ConfigError(_unknown(model), key=_join(key, str(k)), path=path)
    try:
        out: T = _adapter(model).validate_python(data)
    except ValidationError as exc:
        raise config_error(model, exc, key=key, path=path) from None
    return out


def json_schema(model: type[Any], *, title: str, description: str) -> dict[str, Any]:
    """The JSON Schema of the file ``model`` reads (validation mode: what may be written)."""
    schema = _adapter(model).json_schema(ref_template="#/definitions/{model}")
    definitions = schema.pop("$defs", {})
    return {"$schema": DIALECT, "title": title, "description": description,
            **{k: v for k, v in schema.items() if k not in ("title", "description")}, "definitions": definitions}


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(model: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter


def config_keys(model: Any) -> list[str]:
    """The keys a file may give for ``model``, in declaration order."""
    return [f.name for f in dataclasses.fields(model) if f.metadata.get("config_key", True)]


# -- pydantic errors as ConfigError -------------------------------------------------------------------


def config_error(model: type[Any], exc: ValidationError, *, key: str = "", path: str | None = None) -> ConfigError:
    """The first of ``exc``'s errors in the order the file is read: a level's unknown keys, then its keys."""
    errors = sorted(exc.errors(), key=lambda e: _order(model, e["loc"]))
    first = errors[0]
    where, tp, parent = _walk(model, first["loc"], key)
    message = _message(first, tp, parent)
    if not where and first["type"] in _MAPPING_ERRORS:
        where = "(top level)"
    return ConfigError(message, key=where or None, path=path)


_UNKNOWN_ERRORS = frozenset({"unexpected_keyword_argument", "extra_forbidden", "invalid_key"})
_MAPPING_ERRORS = frozenset({"dataclass_type", "dataclass_exact_type", "model_type", "dict_type"})
_SCALAR_ERRORS = {
    "bool_type": "expected true or false",
    "int_type": "expected an integer",
    "float_type": "expected a number",
    "string_type": "expected a string",
}


def _message(err: ErrorDetails, tp: Any, parent: Any) -> str:
    kind, value = err["type"], err.get("input")
    if kind in _UNKNOWN_ERRORS:
        return _unknown(parent)
    if kind in ("missing", "missing_argument"):
        return "required key is missing"
    if kind in _MAPPING_ERRORS:
        return f"expected a mapping, got {type(value).__name__}"
    if kind == "list_type":
        return f"expected a list, got {type(value).__name__}"
    if kind == "enum":
        return f"{value!r} is not {type_name(tp)}"
    if kind in _SCALAR_ERRORS:
        return f"{_SCALAR_ERRORS[kind]}, got {value!r}"
    return str(err["msg"])


def _unknown(model: Any) -> str:
    allowed = ", ".join(sorted(config_keys(model))) if dataclasses.is_dataclass(model) else ""
    return f"unknown key (allowed: {allowed})"


def type_name(tp: Any) -> str:
    """How a value of ``tp`` is described in an error: ``one of 'oaipmh', 'rest'``, ``a list`` ..."""
    tp = _bare(tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    if dataclasses.is_dataclass(tp) or typing.get_origin(tp) is dict:
        return "a mapping"
    if typing.get_origin(tp) is list:
        return "a list"
    return getattr(tp, "__name__", str(tp))


def _bare(tp: Any) -> Any:
    """``tp`` without ``Annotated`` metadata and without ``| None``."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _hints(model: Any) -> dict[str, Any]:
    return typing.get_type_hints(model, include_extras=True)


def _step(tp: Any, part: int | str) -> tuple[Any, tuple[int, int], str]:
    """One step down ``loc``: the type found there, its rank among its siblings, and its key part."""
    if dataclasses.is_dataclass(tp):
        keys = config_keys(tp)
        if part in keys:
            return _bare(_hints(tp)[str(part)]), (1, keys.index(str(part))), f".{part}"
        return Any, (0, 0), f".{part}"  # an unknown key: reported before the known ones
    origin = typing.get_origin(tp)
    if origin is list:
        return _bare(typing.get_args(tp)[0]), (1, int(part)), f"[{part}]"
    if origin is dict:
        return _bare(typing.get_args(tp)[1]), (1, 0), f".{part}"  # in the file's order, as pydantic reads it
    return Any, (1, 0), f".{part}"


def _order(model: type[Any], loc: tuple[int | str, ...]) -> tuple[tuple[int, int], ...]:
    tp: Any = _bare(model)
    ranks = []
    for part in loc:
        if part == "[key]":  # the key of a mapping entry, checked before its value
            ranks.append((0, 0))
            continue
        tp, rank, _ = _step(tp, part)
        ranks.append(rank)
    return tuple(ranks)


def _walk(model: type[Any], loc: tuple[int | str, ...], key: str) -> tuple[str, Any, Any]:
    """The dotted key of ``loc`` below ``key``, the type expected there, and the type that holds it."""
    tp: Any = _bare(model)
    parent: Any = None
    for part in loc:
        if part == "[key]":
            tp = str
            continue
        parent = tp
        tp, _, suffix = _step(tp, part)
        key = f"{key}{suffix}" if suffix.startswith("[") or key else suffix[1:]
    return key, tp, parent


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
