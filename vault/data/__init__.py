"""Data files: ESP/relay and freemail domain lists."""
