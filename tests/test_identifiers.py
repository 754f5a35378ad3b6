"""The vectorised identifier checks agree with python-stdnum, restricted as the contract says."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.fr import siren as std_siren
from stdnum.fr import siret as std_siret
from stdnum.fr import tva as std_tva

from onevision_dagster.contract import identifiers as ids

digits = st.text(alphabet="0123456789", min_size=0, max_size=16)
near_siren = st.one_of(st.text(alphabet="0123456789", min_size=9, max_size=9), digits)


def _valid_siren_strategy():
    def complete(base: str) -> str:
        for d in "0123456789":
            if std_siren.is_valid(base + d):
                return base + d
        raise AssertionError

    return st.text(alphabet="0123456789", min_size=8, max_size=8).map(complete)


@settings(max_examples=300)
@given(st.lists(near_siren, min_size=1, max_size=50))
def test_siren_matches_stdnum(values: list[str]) -> None:
    got = ids.valid_siren(pa.array(values)).tolist()
    assert got == [len(v) == 9 and std_siren.is_valid(v) for v in values]


@settings(max_examples=300)
@given(st.lists(st.one_of(st.text(alphabet="0123456789", min_size=14, max_size=14),
                          st.text(alphabet="0123456789", min_size=5, max_size=5).map(lambda n: "356000000" + n),
                          digits), min_size=1, max_size=50))
def test_siret_matches_stdnum_including_la_poste(values: list[str]) -> None:
    got = ids.valid_siret(pa.array(values)).tolist()
    assert got == [len(v) == 14 and std_siret.is_valid(v) for v in values]


@settings(max_examples=200)
@given(_valid_siren_strategy(), st.integers(0, 99))
def test_vat_key_matches_stdnum_for_numeric_keys(siren: str, key: int) -> None:
    vat = f"FR{key:02d}{siren}"
    assert ids.valid_vat(pa.array([vat])).tolist() == [std_tva.is_valid(vat)]


def test_known_values() -> None:
    assert ids.valid_siren(pa.array(["356000000", "812345676", "123456789", "81234567", None])).tolist() == [
        True, True, False, False, False]
    assert ids.valid_siret(pa.array(["35600000000001", "35600000000048", "81234567600017",
                                     "81234567600018"])).tolist() == [True, True, True, False]
    # stdnum accepts these, the contract does not: letter keys, no prefix, Monaco numbers
    assert ids.valid_vat(pa.array(["FR19812345676", "FR00443210984", "FRAB812345676", "19812345676",
                                   "FR19 812345676"])).tolist() == [True, False, False, False, False]


def test_debtor_id_gives_the_siren_of_each_form() -> None:
    ok, siren = ids.siren_of_debtor_id(pa.array(["FR19812345676", "80000001000010", "443210984", "FR00443210984"]))
    assert ok.tolist() == [True, True, True, False]
    assert siren.to_pylist()[:3] == ["812345676", "800000010", "443210984"]


def test_compact_removes_inner_spaces() -> None:
    assert ids.compact(pa.array(["552 100 554", " 552100554 "])).to_pylist() == ["552100554", "552100554"]


def test_property_tests_have_no_deadline_on_a_loaded_machine() -> None:
    """Issue #11 point 10: a busy 2-core CI machine must not fail a property test on time alone."""
    properties = [v for v in globals().values() if hasattr(v, "_hypothesis_internal_use_settings")]
    assert properties
    assert all(p._hypothesis_internal_use_settings.deadline is None for p in properties)
