"""Benchmarks that print JSON figures; not part of the test run (see bench/README.md)."""
