"""``python -m consumer``: one consumer configured from the environment; SIGTERM stops it."""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

from consumer import ConsumerSettings, run_consumer


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("AFISSUE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("consumer").info("signal %s: finishing the batch", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_consumer(ConsumerSettings.from_env(os.environ), stop, own_process=True)


if __name__ == "__main__":
    main()
