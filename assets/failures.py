"""A user-facing failure of the domain (a refused file, a failed check) becomes a Dagster `Failure` whose
description is the domain's one French sentence, identifiers only: that is what the UI and the run log show,
instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from onevision_dagster.errors import OneVisionError


@contextmanager
def reported_as_failure() -> Iterator[None]:
    try:
        yield
    except OneVisionError as e:
        raise dg.Failure(description=str(e), allow_retries=False) from None
