"""Harvesting: fetch from sources, crosswalk to the record model, tag, store."""
