"""_request_context: one request bound per context, changed only by binding copies."""

from __future__ import annotations

import contextvars
import threading

from afissue_logging._request_context import (
    REQUEST_CONTEXT,
    RequestContext,
    bind,
    unbind,
    update,
)


class TestRequestContext:
    def test_replace_leaves_the_original_alone(self) -> None:
        """A copy with changes shares the source and reader, not the fields."""
        original = RequestContext({"method": "GET"}, {"path": "/a"}, dict)
        changed = original.replace(status=500)
        assert original.fields == {"method": "GET"}
        assert changed.fields == {"method": "GET", "status": 500}
        assert changed.source is original.source and changed.reader is original.reader


class TestBinding:
    def test_bind_and_unbind_restore_what_was_bound(self) -> None:
        """Nested requests (a sub-request) end with the outer one bound again."""
        outer, inner = RequestContext({"path": "/outer"}), RequestContext({"path": "/inner"})
        token_outer = bind(outer)
        token_inner = bind(inner)
        assert REQUEST_CONTEXT.get() is inner
        unbind(token_inner)
        assert REQUEST_CONTEXT.get() is outer
        unbind(token_outer)
        assert REQUEST_CONTEXT.get() is None

    def test_update_binds_a_copy_so_earlier_snapshots_keep_their_request(self) -> None:
        """A context copied before an update (a log call's snapshot) still sees the old value."""
        token = bind(RequestContext({"path": "/pay"}))
        try:
            before = contextvars.copy_context()
            update(status=500)
            bound = REQUEST_CONTEXT.get()
            assert bound is not None and bound.fields == {"path": "/pay", "status": 500}
            earlier = before.get(REQUEST_CONTEXT)
            assert earlier is not None and earlier.fields == {"path": "/pay"}
        finally:
            unbind(token)

    def test_update_outside_a_request_binds_nothing(self) -> None:
        """With no request bound, an update is a no-op."""
        update(status=500)
        assert REQUEST_CONTEXT.get() is None

    def test_unbind_in_another_context_clears_and_never_raises(self) -> None:
        """A token used in another context (a thread hop) ends the request there instead."""
        token = bind(RequestContext({"path": "/a"}))
        seen: list[object] = []

        def elsewhere() -> None:
            bind(RequestContext({"path": "/b"}))
            unbind(token)
            seen.append(REQUEST_CONTEXT.get())

        thread = threading.Thread(target=contextvars.copy_context().run, args=(elsewhere,))
        thread.start()
        thread.join()
        unbind(token)
        unbind(token)  # twice: already used
        assert seen == [None]
        assert REQUEST_CONTEXT.get() is None
