"""librdkafka's mock cluster: a Kafka-protocol broker inside the confluent-kafka wheel.

No Apache Kafka broker can be installed on these machines (``shared/KAFKA_TESTING.md``);
the mock cluster serves the Kafka protocol on 127.0.0.1 to any client in any process,
for as long as the :class:`MockCluster` object lives in *this* process. Fault injection
(broker down/up, request errors, leader moves, latency) goes through librdkafka's
``rdkafka_mock.h`` API over ctypes. The API is marked experimental upstream: pin
confluent-kafka and re-check ``nm -D`` when upgrading.

Why not only public configuration: librdkafka's ``test.mock.num.brokers=1`` on any client
does start a mock cluster, and its address is public (``list_topics().brokers``), but the
mock broker has no controller, so ``AdminClient.create_topics`` fails ("Failed while
waiting for controller"), and auto-created topics get librdkafka's default partition
count. A topic with the configured partitions and its dead-letter topic need
``rd_kafka_mock_topic_create``, which only the C API reaches (measured with 2.16.1).
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Any

import confluent_kafka  # loads the bundled librdkafka before we open it

__all__ = ["ApiKey", "KafkaError", "MockCluster"]


class ApiKey:
    """Kafka request ApiKeys (subset) for :meth:`MockCluster.push_request_errors`."""

    PRODUCE = 0
    FETCH = 1
    LIST_OFFSETS = 2
    METADATA = 3
    OFFSET_COMMIT = 8
    OFFSET_FETCH = 9
    FIND_COORDINATOR = 10
    JOIN_GROUP = 11
    HEARTBEAT = 12
    LEAVE_GROUP = 13
    SYNC_GROUP = 14
    INIT_PRODUCER_ID = 22


class KafkaError:
    """``rd_kafka_resp_err_t`` values (subset)."""

    TRANSPORT = -195
    NOT_LEADER_OR_FOLLOWER = 6
    REQUEST_TIMED_OUT = 7
    COORDINATOR_NOT_AVAILABLE = 15
    NOT_COORDINATOR = 16
    REBALANCE_IN_PROGRESS = 27
    NOT_ENOUGH_REPLICAS = 19


def _find_lib() -> str:
    base = os.path.dirname(os.path.dirname(confluent_kafka.__file__))
    hits = glob.glob(os.path.join(base, "confluent_kafka.libs", "librdkafka*.so*"))
    if not hits:
        raise RuntimeError("bundled librdkafka not found (confluent-kafka not a manylinux wheel?)")
    return hits[0]


_lib = ctypes.CDLL(_find_lib())
_vp, _cp, _i, _i16, _i32, _sz = (
    ctypes.c_void_p,
    ctypes.c_char_p,
    ctypes.c_int,
    ctypes.c_int16,
    ctypes.c_int32,
    ctypes.c_size_t,
)


def _sig(name: str, restype: Any, *argtypes: Any) -> Any:
    func = getattr(_lib, name)
    func.restype = restype  # pointers must be c_void_p: the default int truncates them
    func.argtypes = list(argtypes)
    return func


_conf_new = _sig("rd_kafka_conf_new", _vp)
_conf_set = _sig("rd_kafka_conf_set", _i, _vp, _cp, _cp, _cp, _sz)
_kafka_new = _sig("rd_kafka_new", _vp, _i, _vp, _cp, _sz)
_kafka_destroy = _sig("rd_kafka_destroy", None, _vp)
_cluster_new = _sig("rd_kafka_mock_cluster_new", _vp, _vp, _i)
_cluster_destroy = _sig("rd_kafka_mock_cluster_destroy", None, _vp)
_cluster_bootstraps = _sig("rd_kafka_mock_cluster_bootstraps", _cp, _vp)
_topic_create = _sig("rd_kafka_mock_topic_create", _i, _vp, _cp, _i, _i)
_broker_down = _sig("rd_kafka_mock_broker_set_down", _i, _vp, _i32)
_broker_up = _sig("rd_kafka_mock_broker_set_up", _i, _vp, _i32)
_broker_rtt = _sig("rd_kafka_mock_broker_set_rtt", _i, _vp, _i32, _i)
_set_leader = _sig("rd_kafka_mock_partition_set_leader", _i, _vp, _cp, _i32, _i32)
_push_errors = _sig(
    "rd_kafka_mock_push_request_errors_array", None, _vp, _i16, _sz, ctypes.POINTER(_i)
)
_clear_errors = _sig("rd_kafka_mock_clear_request_errors", None, _vp, _i16)
_rebalance_delay = _sig("rd_kafka_mock_group_initial_rebalance_delay_ms", None, _vp, _i32)


def _check(err: int, what: str) -> None:
    if err != 0:
        raise RuntimeError(f"mock cluster: {what} failed with error {err}")


class MockCluster:
    """A private ``rd_kafka_t`` owning a mock cluster of *num_brokers* brokers.

    Do not fork while it lives (its brokers are a C thread of this process): give
    other processes :attr:`bootstrap_servers` instead.
    """

    def __init__(self, num_brokers: int = 1, rebalance_delay_ms: int = 100) -> None:
        conf = _conf_new()
        err = ctypes.create_string_buffer(512)
        if _conf_set(conf, b"log_level", b"3", err, 512) != 0:
            raise RuntimeError(err.value.decode())
        self._rk = _kafka_new(0, conf, err, 512)
        if not self._rk:
            raise RuntimeError(err.value.decode())
        self._mc = _cluster_new(self._rk, num_brokers)
        if not self._mc:
            _kafka_destroy(self._rk)
            raise RuntimeError("rd_kafka_mock_cluster_new failed")
        self.num_brokers = num_brokers
        self.bootstrap_servers: str = _cluster_bootstraps(self._mc).decode()
        _rebalance_delay(self._mc, rebalance_delay_ms)

    def create_topic(self, name: str, partitions: int, replication_factor: int = 1) -> None:
        err = _topic_create(self._mc, name.encode(), partitions, replication_factor)
        _check(err, "topic create")

    def set_leader(self, topic: str, partition: int, broker_id: int) -> None:
        _check(_set_leader(self._mc, topic.encode(), partition, broker_id), "set leader")

    def broker_down(self, broker_id: int = 1) -> None:
        _check(_broker_down(self._mc, broker_id), "broker down")

    def broker_up(self, broker_id: int = 1) -> None:
        _check(_broker_up(self._mc, broker_id), "broker up")

    def broker_rtt(self, broker_id: int, ms: int) -> None:
        _check(_broker_rtt(self._mc, broker_id, ms), "broker rtt")

    def push_request_errors(self, api_key: int, *errors: int) -> None:
        array = (_i * len(errors))(*errors)
        _push_errors(self._mc, api_key, len(errors), array)

    def clear_request_errors(self, api_key: int) -> None:
        _clear_errors(self._mc, api_key)

    def close(self) -> None:
        if self._mc:
            _cluster_destroy(self._mc)  # the cluster first: the other order aborts
            self._mc = None
        if self._rk:
            _kafka_destroy(self._rk)
            self._rk = None

    def __enter__(self) -> MockCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
