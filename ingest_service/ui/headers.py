"""Security headers of the UI's responses.

The Content-Security-Policy allows no script at all (the UI needs none) and only the
service's own stylesheets, images and form targets. Installed on the UI's blueprint only:
other pages of the service (``/issues/recent``) choose their own policy.
"""

from __future__ import annotations

from werkzeug.wrappers import Response as BaseResponse

__all__ = ["CONTENT_SECURITY_POLICY", "security_headers"]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

_HTML_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def security_headers(response: BaseResponse) -> BaseResponse:
    """``nosniff`` on every response; CSP, framing and referrer rules on HTML; pages with
    issue data (messages, extra) kept out of shared and back-button caches."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        for name, value in _HTML_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
    return response
