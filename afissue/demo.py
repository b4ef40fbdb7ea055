"""The demo service of ``afissue dev --demo``: a small "trading" process that raises real
exceptions through ``IssueHandler`` (configured by ``logging.config.dictConfig``),
including a burst of identical ones, and uses the manual ``log_issue()`` API.

Run as ``python -m afissue.demo URL``; :data:`EXPECTED_OCCURRENCES` is how many
occurrences it logs, so the caller knows when Firestore has them all.
"""

from __future__ import annotations

import logging
import logging.config
import sys
import time
from collections.abc import Mapping

__all__ = ["BURST", "EXPECTED_OCCURRENCES", "run_demo_service"]

BURST = 100
_LOOKUPS = 7
_REJECTIONS = 5
EXPECTED_OCCURRENCES = BURST + _LOOKUPS + _REJECTIONS + 1 + 1  # + chained + log_issue


def _price(order: Mapping[str, float]) -> float:
    return order["notional"] / order["qty"]


def _price_order(order: Mapping[str, float]) -> float:
    return _price(order)


def _position(book: Mapping[str, int], symbol: str) -> int:
    return book[symbol]


def _settle(trade_id: int) -> None:
    try:
        raise ConnectionError(f"clearing house unreachable for trade {trade_id}")
    except ConnectionError as exc:
        raise RuntimeError("settlement failed") from exc


def run_demo_service(url: str, service: str = "demo-trading") -> None:
    """Log the demo's errors to the ingest API at *url* and flush them."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "afissue": {
                    "()": "afissue_logging.IssueHandler",
                    "url": url,
                    "service": service,
                    "environment": "dev",
                    "release": "demo-1.0",
                    "level": "ERROR",
                },
            },
            "root": {"handlers": ["afissue"], "level": "INFO"},
        }
    )
    log = logging.getLogger("demo.orders")
    for i in range(BURST):
        try:
            _price_order({"notional": 1_000.0 + i, "qty": 0})
        except ZeroDivisionError:
            log.exception("pricing failed for order %d", i)
        time.sleep(0.01)  # a burst over about a second: first and last seen differ
    for symbol in ("AAPL", "MSFT", "TSLA", "NVDA", "AMZN", "GOOG", "META")[:_LOOKUPS]:
        try:
            _position({"EURUSD": 3}, symbol)
        except KeyError:
            logging.getLogger("demo.positions").exception("no position for %s", symbol)
    for order_id in range(_REJECTIONS):
        log.error(
            "order %d rejected: margin %.2f below %.2f", 9000 + order_id, 12.5 * order_id, 100.0
        )
    try:
        _settle(42)
    except RuntimeError:
        logging.getLogger("demo.settlement").exception("trade 42 not settled")

    from afissue_logging import IssueTrackerClient

    IssueTrackerClient(url=url, service=service).log_issue(
        "Nightly reconciliation mismatch",
        "3 fills missing from the broker statement",
        type="bug",
        priority="high",
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
        handler.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m afissue.demo INGEST_URL", file=sys.stderr)
        return 2
    run_demo_service(argv[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
