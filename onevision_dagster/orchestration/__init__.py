"""Dagster wiring that is neither an asset nor a resource.

Jobs, schedules, sensors, partitions, automation, resource defaults, the in-process runner.
"""
