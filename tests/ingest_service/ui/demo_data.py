"""A realistic handful of issues, for the browser tests' screenshots."""

from __future__ import annotations

from typing import Any

from tests.issue_store import seed


def _frame(module: str, function: str, line: str, lineno: int, in_app: bool) -> dict[str, Any]:
    return {
        "filename": f"/srv/{module.replace('.', '/')}.py",
        "module": module,
        "function": function,
        "lineno": lineno,
        "context_line": line,
        "in_app": in_app,
    }


def _crumb(
    seconds_before: float, level: str, logger: str, message: str, thread: str,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    moment = seed.ago(seconds=40 + seconds_before)
    crumb = {"timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "level": level,
             "logger": logger, "message": message, "thread": thread}
    return crumb | ({"data": data} if data else {})


def put_demo_issues(db: Any) -> str:
    """Seed the demo issues; returns the id of the one to show in detail."""
    latest = seed.occurrence(
        "Failed to compute position size for order 7421",
        exception={
            "type": "ZeroDivisionError",
            "value": "division by zero",
            "module": "builtins",
            "chain": [
                {
                    "type": "KeyError",
                    "value": "'EURUSD'",
                    "module": "builtins",
                    "relation": "context",
                    "frames": [
                        _frame("trading.prices", "last_price", "return self._cache[symbol]",
                               88, True),
                    ],
                }
            ],
        },
        timestamp=seed.ago(seconds=40),
        breadcrumbs=[
            _crumb(2.9, "info", "trading.session", "session ACC-19 authenticated", "MainThread"),
            _crumb(2.4, "info", "trading.orders", "placing order 7421: BUY 250000 EURUSD",
                   "MainThread"),
            _crumb(1.8, "info", "trading.prices", "price feed reconnected",
                   "feed-listener", data={"attempt": 3, "latency_ms": 412}),
            _crumb(0.9, "warning", "trading.prices",
                   "no cached price for EURUSD; stop distance from last close <PriceBar>",
                   "MainThread"),
            _crumb(0.2, "info", "trading.risk", "risk limit 0.02 for account ACC-19",
                   "MainThread"),
        ],
        frames=[
            _frame("gunicorn.workers.sync", "handle_request",
                   "respiter = self.wsgi(environ, resp.start_response)", 178, False),
            _frame("flask.app", "dispatch_request",
                   "return self.ensure_sync(self.view_functions[rule.endpoint])(**view_args)",
                   880, False),
            _frame("trading.orders", "place_order",
                   "size = risk.position_size(account, price)", 131, True),
            _frame("trading.risk", "position_size",
                   "return account.equity * self.risk / stop_distance", 54, True),
        ],
        context={
            "environment": "production",
            "release": "2026.11.3",
            "host": "trading-7f9c",
            "logger": "trading.orders",
            "thread": "MainThread",
            "pid": 4182,
            "request_id": "req-5f1c2a",
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "tags": {"region": "eu-west-1", "desk": "fx"},
            "extra": {"order_id": 7421, "symbol": "EURUSD", "account": "ACC-19", "qty": 250000},
        },
    )
    main = seed.issue(
        "3f2a9c1d7e6b4a5f8c0d1e2f3a4b5c6d",
        service="demo-trading",
        title="ZeroDivisionError: division by zero",
        culprit="trading.risk in position_size",
        count=1284,
        first_seen=seed.ago(days=2, hours=3),
        last_seen=seed.ago(seconds=40),
        environments=["staging", "production"],
        releases=["2026.11.2", "2026.11.3"],
        regressed_at=seed.ago(hours=5),
        latest=latest,
        # 1284 events: the first day and a half, none while resolved, a spike since the
        # regression 5 hours ago
        **seed.trend_maps({
            **dict(enumerate([215, 188, 160, 131, 96, 41])),
            **{h: (17 if h < 48 else 16) + (3 if h % 2 else -3) for h in range(24, 51)},
        }),
        first_release="2026.11.2",
        last_release="2026.11.3",
        release_seen=[{"release": "2026.11.2", "first_seen": seed.ago(days=2, hours=3)},
                      {"release": "2026.11.3", "first_seen": seed.ago(hours=5)}],
        status_history=[
            {"status": "open", "at": seed.ago(days=2, hours=3), "by": "consumer",
             "reason": "first seen"},
            {"status": "resolved", "at": seed.ago(days=1), "by": "alice",
             "reason": "resolve (web UI)"},
            {"status": "open", "at": seed.ago(hours=5), "by": "consumer", "reason": "regression"},
        ],
    )
    seed.put(db, "issues", main)
    ring = db.collection("issues").document(main["issue_id"]).collection("occurrences")
    for slot, (order, minutes, env, count) in enumerate(
        [(7421, 0.7, "production", 12), (7398, 6, "production", 40), (7377, 31, "staging", 3)]
    ):
        ring.document(f"{slot:02d}").set({
            **latest,
            "message": f"Failed to compute position size for order {order}",
            "timestamp": seed.ago(minutes=minutes),
            "context": {**latest["context"], "environment": env},
            "coalesced_count": count,
        })
    others = [
        ("a1", "pricing", "KeyError: 'price'", "pricing.feed in normalise", "error", 342,
         {"minutes": 3}, {"days": 6}),
        ("a2", "quotes", "TimeoutError: upstream quote service did not answer within 5s",
         "quotes.client in fetch", "warning", 87, {"minutes": 12}, {"hours": 20}),
        ("a3", "demo-trading", "Order rejected: insufficient margin for account <id>",
         "trading.orders", "error", 23, {"hours": 1}, {"hours": 9}),
        ("a4", "settlement", "ConnectionResetError: [Errno 104] Connection reset by peer",
         "settlement.ledger in post_entries", "critical", 5, {"hours": 2}, {"days": 1}),
        ("a5", "pricing", "ValueError: could not convert string to float: 'N/A'",
         "pricing.parse in to_decimal", "error", 2, {"days": 1}, {"days": 3}),
    ]
    shapes = {  # hours ago -> events in that hour
        "a1": {h: 2 + (h * 7) % 5 for h in range(0, 24)},
        "a2": {h: 6 - h // 4 + (7 if h == 0 else 0) for h in range(0, 20)},
        "a3": {1: 6, 2: 8, 4: 3, 7: 2, 8: 4},
        "a4": {2: 3, 9: 2},
        "a5": {24: 2},
    }
    for issue_id, service, title, culprit, level, count, last, first in others:
        seed.put(db, "issues", seed.issue(
            issue_id, service=service, title=title, culprit=culprit, level=level, count=count,
            last_seen=seed.ago(**last), first_seen=seed.ago(**first),
            **seed.trend_maps(shapes[issue_id]),
        ))
    return str(main["issue_id"])
