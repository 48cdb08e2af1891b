"""The one exception hierarchy of the fake.

Every error the fake can answer is a :class:`GoEventError` carrying the HTTP
status, a stable ``code`` and a message a person can act on. The store raises
these without knowing anything of HTTP; one exception handler renders them
into the spec's ``Error`` shape.
"""

from __future__ import annotations

__all__ = [
    "BadGateway",
    "BadRequest",
    "EventNotFound",
    "Forbidden",
    "GatewayTimeout",
    "GoEventError",
    "InvalidJSON",
    "MethodNotAllowed",
    "NotEnoughTickets",
    "NotFound",
    "ParticipantNotFound",
    "PayloadTooLarge",
    "TicketNotFound",
    "TooManyRequests",
    "Unauthorized",
]


class GoEventError(Exception):
    """An error answer: its ``status``, ``code``, ``message``, and the ``field`` at fault."""

    status: int = 500
    code: str = "INTERNAL_ERROR"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def to_body(self) -> dict[str, object]:
        body: dict[str, object] = {"success": False, "code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class BadRequest(GoEventError):
    status = 400
    code = "VALIDATION_ERROR"


class InvalidJSON(BadRequest):
    code = "INVALID_JSON"


class Unauthorized(GoEventError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(GoEventError):
    status = 403
    code = "FORBIDDEN"


class NotFound(GoEventError):
    status = 404
    code = "NOT_FOUND"


class EventNotFound(NotFound):
    code = "EVENT_NOT_FOUND"

    def __init__(self, event_id: str) -> None:
        super().__init__(f"event {event_id} not found", field=None)


class TicketNotFound(NotFound):
    code = "TICKET_NOT_FOUND"

    def __init__(self, ticket_id: str, event_id: str, *, field: str | None = None) -> None:
        super().__init__(f"ticket {ticket_id} not found in event {event_id}", field=field)


class ParticipantNotFound(NotFound):
    code = "PARTICIPANT_NOT_FOUND"

    def __init__(self, participant_id: str) -> None:
        super().__init__(
            f"participant {participant_id} not found", field="body.participant.participantId"
        )


class MethodNotAllowed(GoEventError):
    status = 405
    code = "METHOD_NOT_ALLOWED"


class NotEnoughTickets(GoEventError):
    status = 409
    code = "NOT_ENOUGH_TICKETS"


class PayloadTooLarge(GoEventError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class BadGateway(GoEventError):
    """The proxy's upstream gave no answer (refused, reset, not HTTP)."""

    status = 502
    code = "BAD_GATEWAY"


class GatewayTimeout(GoEventError):
    """The proxy's upstream gave no answer in time."""

    status = 504
    code = "GATEWAY_TIMEOUT"


class TooManyRequests(GoEventError):
    status = 429
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
