"""Writes built as protobufs must equal what the client library builds from the same data."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud.firestore_v1 import _helpers
from google.cloud.firestore_v1.transforms import Increment as LibraryIncrement
from hypothesis import given
from hypothesis import strategies as st

from consumer import firestore_writes
from consumer.document import Increment
from consumer.trends import DELETE

PATH = "projects/p/databases/(default)/documents/issues/a"

_times = st.datetimes(
    min_value=_dt.datetime(1970, 1, 2), max_value=_dt.datetime(2200, 1, 1),
    timezones=st.just(_dt.UTC),
)
_scalars = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False) | st.text() | st.binary() | _times
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1), inner, max_size=4),
    max_leaves=20,
)
_names = st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True)
_documents = st.dictionaries(_names, _values, min_size=1, max_size=6)


class TestSameAsTheLibrary:
    """Each builder against the library's own ``pbs_for_*``."""

    @given(_documents)
    def test_create(self, fields: dict[str, Any]) -> None:
        """create() == the library's create."""
        [expected] = _helpers.pbs_for_create(PATH, fields)
        assert firestore_writes.create(PATH, fields)._pb == expected._pb

    @given(_documents)
    def test_replace(self, fields: dict[str, Any]) -> None:
        """replace() == the library's set without merge."""
        [expected] = _helpers.pbs_for_set_no_merge(PATH, fields)
        assert firestore_writes.replace(PATH, fields)._pb == expected._pb

    @given(_documents, st.dictionaries(_names, st.integers(1, 10**6), max_size=3), _times)
    def test_update_with_increments(
        self, fields: dict[str, Any], increments: dict[str, int], at: _dt.datetime
    ) -> None:
        """update() == the library's update with a last-update-time precondition; the
        consumer's Increment becomes the library's increment transform."""
        data: dict[str, Any] = {**fields, **{name: Increment(n) for name, n in increments.items()}}
        if all(isinstance(v, Increment) for v in data.values()):
            data["updated_at"] = at
        library = {
            name: LibraryIncrement(value.value) if isinstance(value, Increment) else value
            for name, value in data.items()
        }
        # What a snapshot's update_time is (the library's helper is untyped).
        read_back = DatetimeWithNanoseconds.from_timestamp_pb(  # type: ignore[no-untyped-call]
            _helpers.build_timestamp(at))
        [expected] = _helpers.pbs_for_update(
            PATH, library, _helpers.LastUpdateOption(read_back))
        assert firestore_writes.update(PATH, data, read_back)._pb == expected._pb

    def test_precondition_keeps_nanoseconds(self) -> None:
        """A read-back update time keeps its nanoseconds (the library rounds to µs)."""
        at = DatetimeWithNanoseconds(  # type: ignore[no-untyped-call]
            2026, 11, 27, 1, 2, 3, nanosecond=123456789, tzinfo=_dt.UTC)
        built = firestore_writes.update(PATH, {"a": 1}, at)
        assert built.current_document.update_time == at

    def test_unsupported_values_are_refused(self) -> None:
        """Anything the consumer never writes is a TypeError, not a silent misencoding."""
        with pytest.raises(TypeError):
            firestore_writes.replace(PATH, {"a": object()})
        with pytest.raises(TypeError, match="naive"):
            firestore_writes.replace(PATH, {"a": _dt.datetime(2026, 1, 1)})
        with pytest.raises(TypeError):  # the library's sentinels are not the consumer's values
            firestore_writes.update(PATH, {"a": LibraryIncrement(1)}, _dt.datetime.now(_dt.UTC))


class TestTheLibrarysInternals:
    """The two private members of the library this module relies on (why it is pinned)."""

    def test_document_path_is_the_name_the_library_writes(self) -> None:
        """document_path() of a reference is the document name the library's own batch
        puts in its write."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import firestore

        client = firestore.Client(
            project="p", credentials=AnonymousCredentials()  # type: ignore[no-untyped-call]
        )
        ref = client.collection("issues").document("a b")
        batch = client.batch()
        batch.set(ref, {"x": 1})
        [library_write] = batch._write_pbs
        assert firestore_writes.document_path(ref) == library_write.update.name
        assert firestore_writes.document_path(ref).endswith("/documents/issues/a b")

    def test_added_writes_are_committed_with_the_batch(self) -> None:
        """add_writes() appends to what the batch will commit, after its own writes."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import firestore

        client = firestore.Client(
            project="p", credentials=AnonymousCredentials()  # type: ignore[no-untyped-call]
        )
        ref = client.collection("issues").document("a")
        batch = client.batch()
        batch.delete(ref)
        firestore_writes.add_writes(batch, [firestore_writes.replace(PATH, {"x": 1})])
        assert len(batch._write_pbs) == 2
        assert batch._write_pbs[1] == firestore_writes.replace(PATH, {"x": 1})._pb


class TestDottedFields:
    """Increments and deletes of map keys (the trend maps), built and on the emulator."""

    def test_same_as_the_library(self) -> None:
        """Dotted increments and deletes equal the library's, digit keys quoted."""
        from google.cloud.firestore_v1 import DELETE_FIELD

        at = DatetimeWithNanoseconds.from_timestamp_pb(  # type: ignore[no-untyped-call]
            _helpers.build_timestamp(_dt.datetime(2026, 12, 2, tzinfo=_dt.UTC)))
        ours = {"count": Increment(2), "trend_hourly.2026120214": Increment(2),
                "trend_hourly.2026111800": DELETE, "updated_at": at}
        library = {"count": LibraryIncrement(2), "trend_hourly.2026120214": LibraryIncrement(2),
                   "trend_hourly.2026111800": DELETE_FIELD, "updated_at": at}
        [expected] = _helpers.pbs_for_update(PATH, library, _helpers.LastUpdateOption(at))
        built = firestore_writes.update(PATH, ours, at)
        assert built._pb == expected._pb
        assert "trend_hourly.`2026111800`" in built.update_mask.field_paths

    def test_plain_dotted_values_are_refused(self) -> None:
        """A plain value under a dotted name would need nesting: refused, not misencoded."""
        with pytest.raises(ValueError, match="top-level"):
            firestore_writes.update(PATH, {"trend_hourly.2026120214": 1},
                                    _dt.datetime.now(_dt.UTC))

    def test_increments_and_deletes_on_the_emulator(self, db: Any) -> None:
        """On the emulator, dotted increments add to (or create) single keys, deletes remove
        old keys and every other key stays, in one write."""
        ref = db.collection("issues").document("trends")
        ref.set({"count": 3, "trend_hourly": {"2026111800": 1, "2026120213": 2}})
        snap = ref.get()
        batch = db.batch()
        firestore_writes.add_writes(batch, [firestore_writes.update(
            firestore_writes.document_path(ref),
            {"count": Increment(4), "trend_hourly.2026120213": Increment(1),
             "trend_hourly.2026120214": Increment(3), "trend_hourly.2026111800": DELETE,
             "trend_daily.20261202": Increment(4)},
            snap.update_time)])
        batch.commit()
        stored = ref.get().to_dict()
        assert stored["trend_hourly"] == {"2026120213": 3, "2026120214": 3}
        assert stored["trend_daily"] == {"20261202": 4}
        assert stored["count"] == 7

    def test_a_nested_object_would_set_the_map(self, db: Any) -> None:
        """The pitfall the dotted keys avoid: an update with a nested map replaces it, so
        its other keys (other hours) are lost."""
        ref = db.collection("issues").document("pitfall")
        ref.set({"trend_hourly": {"2026120213": 2}})
        ref.update({"trend_hourly": {"2026120214": 1}})
        assert ref.get().to_dict()["trend_hourly"] == {"2026120214": 1}
