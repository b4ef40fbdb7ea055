"""The issue documents in Firestore, below the consumer, the web UI and the CLI.

- :mod:`issue_store.client`: the only Firestore client factory (emulator or not);
- :mod:`issue_store.ids`: what an issue id (a document id) may be;
- :mod:`issue_store.settings`: where the issues are (``ReaderSettings``);
- :mod:`issue_store.query`, :mod:`issue_store.reader`: lists, pages, one issue, its
  occurrences and status changes (``IssueReader``), for the web UI and ``afissue issues``;
- :mod:`issue_store.alerts`: the alert outbox as read by the UI (an issue's alerts) and
  ``afissue alerts list``, with each channel's delivery state;
- :mod:`issue_store.present`: occurrences, times and tables as people read them;
- :mod:`issue_store.errors`: ``FirestoreUnavailable``, ``IssueNotFound``.

The consumer writes the documents (``consumer.store``, layout in ``consumer.document``).
Nothing here imports Flask or Kafka; Google's client is imported when a client is made.
"""
