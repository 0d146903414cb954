"""Typed answers: the base of every group of Dokploy endpoints.

Each endpoint method sends exactly the fields of Dokploy's OpenAPI document and turns the answer into a trimmed model
of :mod:`dokploy_mcp.dokploy.models` (or a plain value) with the checks here; an answer of the wrong shape is a
:class:`~dokploy_mcp.dokploy.errors.DokployResponseError` that names the procedure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic

from dokploy_mcp.dokploy.errors import DokployResponseError
from dokploy_mcp.dokploy.transport import DokployTransport

__all__ = ["TypedCalls", "without_none"]

_ModelT = TypeVar("_ModelT", bound=pydantic.BaseModel)


def without_none(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` without the keys whose value is None: Dokploy keeps its own value for a field not sent."""
    return {key: value for key, value in fields.items() if value is not None}


class TypedCalls(DokployTransport):
    """A transport whose callers get models and checked values, not raw JSON."""

    def _model(self, model: type[_ModelT], payload: Any, procedure: str) -> _ModelT:
        try:
            return model.model_validate(payload)
        except pydantic.ValidationError as exc:
            raise self._shape_error(model.__name__, exc, procedure) from None

    def _models(self, model: type[_ModelT], payload: Any, procedure: str) -> list[_ModelT]:
        if not isinstance(payload, list):
            raise self._wrong_type("a list", payload, procedure)
        return [self._model(model, item, procedure) for item in payload]

    def _shape_error(self, what: str, exc: pydantic.ValidationError, procedure: str) -> DokployResponseError:
        # Never str(exc): pydantic quotes the offending input, which may be an env full of secrets.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)[:5]
        )
        # The locations name keys of Dokploy's answer: its text, so scrubbed like any other.
        return DokployResponseError(
            f"not a valid {what} ({self._scrub(problems)})", server=self.name, path=f"/{procedure}"
        )

    def _wrong_type(self, expected: str, payload: Any, procedure: str) -> DokployResponseError:
        return DokployResponseError(
            f"expected {expected}, got {type(payload).__name__}", server=self.name, path=f"/{procedure}"
        )

    def _str(self, payload: Any, procedure: str) -> str:
        if not isinstance(payload, str):
            raise self._wrong_type("a string", payload, procedure)
        return payload

    def _bool(self, payload: Any, procedure: str) -> bool:
        if not isinstance(payload, bool):
            raise self._wrong_type("true or false", payload, procedure)
        return payload
