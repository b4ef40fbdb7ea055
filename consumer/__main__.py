"""``python -m consumer``: one consumer configured from the environment; SIGTERM stops it.

The same process as ``afissue consumer``: both run :func:`consumer.runtime.main`.
"""

from __future__ import annotations

from consumer.runtime import main

if __name__ == "__main__":
    raise SystemExit(main())
