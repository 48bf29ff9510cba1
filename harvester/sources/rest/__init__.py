"""Declarative JSON APIs: the profile format (:mod:`.profile`) and the helpers it is built on.

A profile (YAML, under ``profiles/`` or any file) says how to request a
center's JSON API page by page, where the records are and how their fields
map into the record model; :mod:`fedcat.harvester.sources.rest.adapter` runs it and
:mod:`fedcat.harvester.crosswalks.json_profile` applies its mapping.
"""
