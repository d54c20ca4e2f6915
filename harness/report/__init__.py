"""The compatibility report: run history, HTML grid and views, JUnit XML, Markdown, repro export.

Design
------
* A **run** of the history is one ``harness report RESULTS...`` ingestion: every record read from
  the given files (cells of a local nox run, or artifacts downloaded from CI) becomes part of that
  run, whatever ``run_id`` the records carry. The nightly matrix ingests once per night, so "the
  previous run" is the previous night, which is what regressions compare against.
* The history is a SQLite database (``reports/history.sqlite`` by default, outside the generated
  site so that deleting the site loses nothing). Records are stored once, keyed by a hash of their
  canonical JSON; a run links to the records it contains. Ingesting the same file twice stores no
  record twice, and an ingestion whose records are exactly those of the latest run adds no run.
  Runs are only ever appended.
* Within a run, a **cell** is a record's ``cell`` name (set by ``harness run --cell``), or, when it
  has none, a key derived from its environment (python, torch, transformers, peft, bitsandbytes,
  accelerate versions and the device). One variant in one cell is one grid **entry**; when a run
  holds several records for the same entry (a re-run), the newest by ``started_at`` is shown and
  the others stay in the database.
* **Regressions** compare each entry of a run with the same variant in the same cell of the
  previous run: *new failure* (passed or skipped before, failed/crashed/timed out/unbuildable
  now), *newly silent*, *fixed* (any non-passing outcome before, passed now) and *changed
  signature* (non-passing in both, with another outcome or error signature).

Modules: ``records`` (reading files), ``cells`` (cell keys and version headers), ``store``
(history), ``model`` (a run's entries and rows), ``views/`` (signatures, boundaries, claims,
regressions, charts), ``html``/``junit``/``markdown`` (outputs), ``repro/`` (standalone scripts),
``cli`` (the ``report``, ``history`` and ``repro`` commands).
"""
