"""The search index: one interface (:mod:`.base`), an embedded tantivy backend and an Elasticsearch backend."""
