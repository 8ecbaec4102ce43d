"""autodocs benchmark suite: ``python -m benchmarks [--quick] [--write-docs] [SUITE ...]``."""
