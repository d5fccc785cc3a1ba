"""One place that turns every refusal into the JSON error shape of API.md."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from pymongo.errors import ConnectionFailure, ExecutionTimeout
from quart import Quart, jsonify, request
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from routing_core.infra.errors import DomainError
from routing_core.infra.sentences import invalid

log = logging.getLogger(__name__)


def error_body(status: int, code: str, message: str, field: str | None = None) -> Any:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    response = jsonify({"error": error})
    response.status_code = status
    return response


def _first_problem(error: Exception) -> tuple[str, str | None]:
    if isinstance(error, ValidationError):
        said = invalid(error)  # in words, not the library's
        return said.message, said.field
    return str(error), None


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(DomainError)
    async def domain_error(error: DomainError) -> Any:
        response = error_body(error.status, error.code, error.message, error.field)
        if retry_after := getattr(error, "retry_after", None):
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(RequestSchemaValidationError)
    async def schema_error(error: RequestSchemaValidationError) -> Any:
        message, field = _first_problem(error.validation_error)
        return error_body(422, "invalid", message, field)

    @app.errorhandler(UnicodeDecodeError)
    async def undecodable(error: UnicodeDecodeError) -> Any:
        # Quart decodes the body before parsing JSON: bytes that are not UTF-8 are malformed.
        return error_body(400, "malformed", "the request body is not UTF-8 text")

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        codes = {400: "malformed", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        message = {
            400: "the request body is not valid JSON or not the expected shape",
            413: "the request body is too large",
        }.get(status, error.description or error.name)
        return error_body(status, codes.get(status, "http_error"), message)

    @app.errorhandler(ConnectionFailure)
    @app.errorhandler(ExecutionTimeout)
    async def storage_unavailable(error: Exception) -> Any:
        log.warning("storage unavailable on %s %s: %s", request.method, request.path, error)
        response = error_body(503, "unavailable", "storage is unavailable; try again shortly")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> Any:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_body(500, "internal", "an unexpected error occurred; it has been logged")
