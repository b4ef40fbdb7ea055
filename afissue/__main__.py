"""``python -m afissue`` is the ``afissue`` command."""

from __future__ import annotations

from afissue.cli import main

raise SystemExit(main())
