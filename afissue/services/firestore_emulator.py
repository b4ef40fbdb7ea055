"""Run the Firestore emulator shipped with the Google Cloud CLI (Java 17)."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

from afissue.services._process import ServiceError, free_port, stop_process_group, wait_until

__all__ = ["FirestoreEmulator", "clear_firestore"]


def _command(host_port: str) -> list[str]:
    """The emulator's own launcher when found (quicker), else ``gcloud emulators ...``."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise ServiceError("gcloud not found: the Firestore emulator needs the Google Cloud CLI")
    sdk_root = Path(os.path.realpath(gcloud)).parent.parent
    launcher = sdk_root / "platform" / "cloud-firestore-emulator" / "cloud_firestore_emulator"
    host, port = host_port.rsplit(":", 1)
    if launcher.exists():
        return [str(launcher), "start", f"--host={host}", f"--port={port}"]
    return [gcloud, "emulators", "firestore", "start", f"--host-port={host_port}", "--quiet"]


def _answers(host_port: str) -> bool:
    with urllib.request.urlopen(f"http://{host_port}/", timeout=1) as response:
        return bool(response.status == 200)


def clear_firestore(host_port: str, project: str) -> None:
    """Delete every document of *project* in the emulator at *host_port*."""
    url = f"http://{host_port}/emulator/v1/projects/{project}/databases/(default)/documents"
    request = urllib.request.Request(url, method="DELETE")
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


class FirestoreEmulator:
    """An emulator child process; ``stop()``/``start()`` keep the same address (data is lost)."""

    def __init__(self, port: int | None = None) -> None:
        self.host_port = f"127.0.0.1:{port or free_port()}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    def start(self, timeout: float = 60.0) -> FirestoreEmulator:
        import tempfile

        fd, log_path = tempfile.mkstemp(prefix="afissue-firestore-", suffix=".log")
        self._log = Path(log_path)
        with os.fdopen(fd, "wb") as log:
            self._proc = subprocess.Popen(
                _command(self.host_port),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until(
                lambda: _answers(self.host_port), timeout, f"Firestore emulator {self.host_port}"
            )
        except ServiceError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._proc is not None:
            stop_process_group(self._proc)
            self._proc = None

    def __enter__(self) -> FirestoreEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
