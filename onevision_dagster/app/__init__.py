"""The agents' web application: search, company page, worklists, rights, audit (no Dagster)."""
