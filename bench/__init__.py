"""Benchmarks of SPEC section 8; ``python -m bench`` prints the table."""
