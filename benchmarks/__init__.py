"""Side-by-side measurements of what the template costs and what each server gives.

Run `python3 -m uv run python -m benchmarks --help` from the repository root.
"""
