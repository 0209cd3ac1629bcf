"""Load tool for the card-table server: see docs/performance.md and `python -m bench --help`."""
