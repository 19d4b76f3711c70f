"""Benchmarks and evaluations. Run with `make bench` (all) or `python -m bench NAME`; results and
the command that produced them are kept in docs/benchmarks.md."""
