"""What users touch: the HTTP API, the CLI and the scheduler."""
