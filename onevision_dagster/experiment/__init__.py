"""The experiment's evaluation (issue 19): indicators per department and pair, difference in differences with
randomization inference, interval by test inversion, placebo, and the agents' outcomes checked against the data.
Plain functions, no Dagster (docs/evaluation.md)."""
