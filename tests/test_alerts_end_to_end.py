"""Alerts on the whole pipeline: HTTP POSTs through the real ingest server, Kafka and a
consumer process become outbox documents, and two notifier processes deliver them to a
receiver on 127.0.0.1 that is down for a while — each alert arrives, signed, none lost."""

from __future__ import annotations

import time
from collections import Counter

from afissue.services import FirestoreEmulator
from issue_store.client import firestore_client
from notifier.signing import verify
from tests.kafka_helpers import KafkaBed
from tests.notifier.conftest import SECRET
from tests.notifier.receivers import HttpReceiver
from tests.pipeline import Pipeline, wait_for

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")
ISSUES = len(WORDS)


class TestAlertsEndToEnd:
    def test_receiver_down_for_a_while_gets_every_new_issue_once_back(
        self, kafka: KafkaBed, kafka_topic: str, redis_url: str,
        firestore_emulator: FirestoreEmulator, firestore_project: str,
    ) -> None:
        """New issues logged while the receiver is down reach it after it returns: one
        signed alert per issue, duplicates (if any) with the same webhook-id."""
        receiver = HttpReceiver()  # not started: connections are refused
        pipeline = Pipeline(
            kafka_bootstrap=kafka.bootstrap, topic=kafka_topic, redis_url=redis_url,
            firestore_host=firestore_emulator.host_port, project=firestore_project,
        )
        pipeline.env.update({
            "AFISSUE_ALERT_WEBHOOK_URL": receiver.url,
            "AFISSUE_ALERT_WEBHOOK_SECRET": SECRET,
            "AFISSUE_NOTIFIER_POLL_INTERVAL": "0.2",
            "AFISSUE_NOTIFIER_BACKOFF_INITIAL": "0.2",
            "AFISSUE_NOTIFIER_BACKOFF_MAX": "1",
            "AFISSUE_NOTIFIER_MAX_ATTEMPTS": "1000",
        })
        try:
            pipeline.start_ingest()
            pipeline.start_consumer()
            pipeline._spawn("notifier-a", "notifier")
            pipeline._spawn("notifier-b", "notifier")
            issue_ids = []
            for word in WORDS:  # words, not numbers: numbers are one message template
                status, body = pipeline.post(
                    "/api/v1/issues", {"title": f"alert path check {word}", "service": "e2e"}
                )
                assert status == 202, body
                issue_ids.append(body["issue_id"])
            db = firestore_client(firestore_project, firestore_emulator.host_port)

            def tried_while_down() -> bool:
                alerts = [s.to_dict() for s in db.collection("alerts").stream()]
                return len(alerts) == ISSUES and all(
                    a["channels"]["webhook"]["attempts"] >= 1
                    and a["channels"]["webhook"]["state"] == "pending" for a in alerts
                )

            assert wait_for(tried_while_down, timeout=60), pipeline.logs()
            receiver.start()
            expected = {f"{issue_id}:new:0/webhook" for issue_id in issue_ids}
            assert wait_for(lambda: set(receiver.ids()) >= expected, timeout=90), (
                pipeline.logs()
            )
            time.sleep(1)
            counts = Counter(receiver.ids())
            assert set(counts) == expected and len(set(issue_ids)) == ISSUES
            for request in receiver.received():
                verify(SECRET, request.headers, request.body, now=int(time.time()))
        except BaseException:
            print(pipeline.logs())
            raise
        finally:
            pipeline.stop()
            receiver.stop()
