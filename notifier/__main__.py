"""``python -m notifier``: one notifier replica configured from the environment."""

from __future__ import annotations

from notifier.main import main

if __name__ == "__main__":
    raise SystemExit(main())
