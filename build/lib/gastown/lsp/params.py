"""Turn raw JSON-RPC params into validated pydantic models, or an InvalidParams error naming the field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from gastown.validation import describe

M = TypeVar("M", bound=BaseModel)


class RequestFailed(JsonRpcException):
    """LSP's RequestFailed: the request was valid but the town could not do it (e.g. not a git repo)."""

    CODE = -32803
    MESSAGE = "Request Failed"


def to_plain(value: Any) -> Any:
    """pygls hands custom-request params over as namedtuples; get the JSON shape back."""
    if hasattr(value, "_asdict"):
        return {k: to_plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def parse(model: type[M], raw: Any) -> M:
    data = to_plain(raw)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise JsonRpcInvalidParams(f"params must be an object for {model.__name__}, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise JsonRpcInvalidParams(f"invalid params for {model.__name__}: {describe(exc, 'params')}") from None
