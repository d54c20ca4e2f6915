"""`harness explore`: property-based search for failures the catalog does not cover yet.

Hypothesis draws combinations of the DSL's dimensions (:mod:`.strategies`), each runs through
the same warm worker pool as `harness run` (:mod:`.search`), and a failure whose signature the
catalog has never produced (:mod:`.known`) is shrunk to a minimal scenario and written as a
ready catalog entry (:mod:`.found`).
"""
