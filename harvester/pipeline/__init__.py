"""The pipeline that moves pages between the steps: the run loop (:mod:`.run`), the index feeder,
mapping, maintenance (remap, re-tag, embargoes, reindex) and officers' decisions."""
