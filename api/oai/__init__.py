"""fedcat as an OAI-PMH 2.0 data provider (``/oai``): the unified catalog, as the public sees it, for other
aggregators to harvest.

- :mod:`.errors`: one exception class per OAI error code;
- :mod:`.tokens`: resumption tokens (a keyset position, signed, with an expiry);
- :mod:`.published`: what the provider serves, the :class:`~.published.Published` repository;
- :mod:`.formats`: the metadata formats (``oai_dc``, ...);
- :mod:`.provider`: the six verbs, their arguments and the XML answers;
- :mod:`.route`: the HTTP route.
"""
