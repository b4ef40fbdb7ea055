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
        frames=[
            _frame("gunicorn.workers.sync", "handle_request",
                   "respiter = self.wsgi(environ, resp.start_response)", 178, False),
            _frame("flask.app", "dispatch_request",
                   "return self.ensure_sync(self.view_functions[rule.endpoint])(**view_args)",
                   880, False),
            {**_frame("trading.orders", "place_order",
                      "size = risk.position_size(account, price)", 131, True),
             "vars": {"self": "<OrderService>", "order_id": "7421", "symbol": "'EURUSD'",
                      "price": "1.0842", "account": "<Account>", "api_token": "[Filtered]"}},
            {**_frame("trading.risk", "position_size",
                      "return account.equity * self.risk / stop_distance", 54, True),
             "vars": {"self": "<RiskModel>", "account": "<Account>", "price": "1.0842",
                      "stop": "1.0842", "stop_distance": "0.0",
                      "limits": "{'max_qty': 500000, 'desks': ['fx', 'rates']}"},
             "vars_omitted": 2},
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
    for issue_id, service, title, culprit, level, count, last, first in others:
        seed.put(db, "issues", seed.issue(
            issue_id, service=service, title=title, culprit=culprit, level=level, count=count,
            last_seen=seed.ago(**last), first_seen=seed.ago(**first),
        ))
    return str(main["issue_id"])
