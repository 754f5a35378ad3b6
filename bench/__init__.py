"""Benchmarks of the One Vision pipeline (issue #5).

`python -m bench.national --scale 1.0 --out bench/out` generates a national
landing zone (101 departments, sizes from `bench/departements.csv`), times a
bare DuckDB baseline on the same files, runs the whole Dagster pipeline and
prints wall time, rows per second and peak memory per stage, with the ratio
pipeline / baseline for the nation and for the largest department.
"""
