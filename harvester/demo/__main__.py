"""``python -m fedcat.harvester.demo``: serve the demo federation on 127.0.0.1."""

from .federation import main

raise SystemExit(main())
