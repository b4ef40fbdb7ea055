"""One HTTP POST of a JSON body, as the webhook and Slack channels send it (stdlib only)."""

from __future__ import annotations

import email.utils
import time
import urllib.error
import urllib.request

from notifier.channels import DeliveryError

__all__ = ["post"]

USER_AGENT = "afissue-notifier/0.1"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    """POST *body* to *url*; any 2xx is delivered, anything else a :class:`DeliveryError`
    naming the status (with the receiver's ``Retry-After``) or the network error."""
    if not url.startswith(("http://", "https://")):
        raise DeliveryError(f"{url!r}: expected an http:// or https:// URL")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read(65536)
            status = int(response.status)
    except urllib.error.HTTPError as error:
        raise DeliveryError(
            f"HTTP {error.code} from {url}", _retry_after(error.headers.get("Retry-After"))
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryError(f"{url}: {reason}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status} from {url}")
