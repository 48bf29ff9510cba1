"""REST profiles shipped with fedcat, one YAML file per API (see docs/profiles.md)."""
