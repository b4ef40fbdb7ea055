"""Who may use the UI: operators logging in with a token, or everyone when run open.

Operators are listed in ``AFISSUE_UI_OPERATORS_FILE`` in the ingest tokens-file format
(``operator sha256-hex-of-token`` per line, made by ``afissue token new NAME``), so no
plaintext token is stored. Logging in puts the operator's name in the signed session
cookie; that name is what status history records. ``AFISSUE_UI_OPEN`` (``afissue dev``)
lets everyone in as ``anonymous``.
"""

from __future__ import annotations

from flask import session

from ingest_service.tokens import TokenStore

__all__ = ["ANONYMOUS", "Operators"]

ANONYMOUS = "anonymous"
_SESSION_KEY = "afissue_operator"


class Operators:
    """The UI's access rule: open, or the operators of a tokens file (or nobody)."""

    def __init__(self, tokens: TokenStore | None, open_access: bool) -> None:
        self.tokens = tokens
        self.open_access = open_access

    @property
    def can_log_in(self) -> bool:
        """Whether any operator is configured."""
        return self.tokens is not None

    def log_in(self, token: str) -> str | None:
        """Start an operator session for *token*; the operator's name, or None."""
        operator = self.tokens.service_for(token) if self.tokens is not None and token else None
        if operator is None:
            return None
        session.clear()
        session[_SESSION_KEY] = operator
        return operator

    @staticmethod
    def log_out() -> None:
        session.clear()

    def current(self) -> str | None:
        """The operator of this request: the logged-in one, ``anonymous`` when open, or None."""
        operator = session.get(_SESSION_KEY)
        if isinstance(operator, str):
            return operator
        return ANONYMOUS if self.open_access else None
