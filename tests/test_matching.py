"""Name normalisation (SOURCES.md section 5): examples, a reference, properties."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onevision_dagster.consolidate.matching import STOP_WORDS, normalise_names


def norm(text: str | None) -> str | None:
    return normalise_names(pd.Series([text], dtype=object)).iloc[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Boulangerie du Port SARL", "BOULANGERIE DU PORT"),
        ("STE TRANSPORTS CHARENTAIS", "TRANSPORTS CHARENTAIS"),
        ("Écuries de l'Île-de-Ré", "ECURIES DE L ILE DE RE"),
        ("ÉCURIES DE L'ÎLE DE RÉ", "ECURIES DE L ILE DE RE"),
        ("OMO", "OMO"),
        ("  Garage   Martin  ", "GARAGE MARTIN"),
        ("A&B S.A.", "A B S A"),  # "S.A." is two words S and A, not the word SA
        ("SA", ""),
        ("SARL SAS SASU SA EURL SCI SNC SELARL STE SOCIETE ETS", ""),
        ("Société Générale", "GENERALE"),
        ("ETS. DUPONT & FILS", "DUPONT FILS"),
        ("SASA SAS", "SASA"),  # only whole words are dropped
        ("LASARL", "LASARL"),
        ("Boulangerie-SARL", "BOULANGERIE"),
        ("Cœur d’Océan", "CŒUR D OCEAN"),  # Œ has no decomposition: kept as a letter
        ("ﬁnance", "FINANCE"),  # compatibility ligature
        ("N°1 ½", "N 1 1 2"),
        ("---", ""),
        ("", ""),
    ],
)
def test_examples(raw: str, expected: str) -> None:
    assert norm(raw) == expected


def test_null_stays_null_and_container_is_kept() -> None:
    s = pd.Series(["Sarl Truc", None, "Truc"], index=[10, 20, 30], name="nom")
    out = normalise_names(s)
    assert isinstance(out, pd.Series)
    assert list(out.index) == [10, 20, 30] and out.name == "nom"
    assert out.tolist() == ["TRUC", None, "TRUC"]

    arr = pa.array(["Sarl Truc", None])
    out_arr = normalise_names(arr)
    assert isinstance(out_arr, pa.Array)
    assert out_arr.to_pylist() == ["TRUC", None]

    chunked = pa.chunked_array([["a-b"], ["é"]])
    assert normalise_names(chunked).to_pylist() == ["A B", "E"]
    assert normalise_names(pa.array(["x", "x"]).dictionary_encode()).to_pylist() == ["X", "X"]
    assert normalise_names(pd.Series([], dtype=object)).tolist() == []


def test_register_scale() -> None:
    """300k names (many repeated, as in a register), each normalised as the first of its kind; the time it takes
    is measured by `python -m bench.matching`, not asserted here (issue 23)."""
    names = pd.Series([f"Société {i % 50_000} Établissements-Ré SARL" for i in range(300_000)])
    out = normalise_names(names)
    assert len(out) == 300_000 and out.iloc[1] == "1 ETABLISSEMENTS RE" and out.iloc[50_001] == out.iloc[1]


# --------------------------------------------------------------------------- properties

# the contract's list (SOURCES.md section 5, "this list exactly"), written out: the reference does not read the code's
STOP = frozenset({"SARL", "SAS", "SASU", "SA", "EURL", "SCI", "SNC", "SELARL", "STE", "SOCIETE", "ETS"})


def test_the_code_drops_exactly_the_contracts_words() -> None:
    assert frozenset(STOP_WORDS) == STOP and len(STOP_WORDS) == len(STOP)


def reference(text: str) -> str:
    """Straight per-character reading of the contract (for Latin-1 text, where it is unambiguous)."""
    s = unicodedata.normalize("NFKD", text.upper())
    s = "".join(c for c in s if not unicodedata.category(c).startswith("M")).upper()
    s = "".join(c if c.isalnum() else " " for c in s)
    return " ".join(w for w in s.split(" ") if w and w not in STOP)


latin1 = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="ß"), max_size=40
)
# Cn excluded: RE2 may know newer Unicode letters than this Python's unicodedata
anything = st.text(alphabet=st.characters(exclude_categories=("Cn", "Cs")), max_size=40)


@given(latin1)
def test_matches_reference_on_latin1(text: str) -> None:
    assert norm(text) == reference(text)


@given(anything)
@settings(max_examples=300)
def test_idempotent(text: str) -> None:
    once = norm(text)
    assert norm(once) == once


@given(anything)
@settings(max_examples=300)
def test_output_alphabet(text: str) -> None:
    out = norm(text)
    assert out == out.strip() and "  " not in out
    for ch in out:
        if ch == " ":
            continue
        assert re.fullmatch(r"[A-Z0-9]", ch) or (
            unicodedata.category(ch)[0] in "LN" and unicodedata.normalize("NFKD", ch) == ch
        ), repr(ch)
        assert not unicodedata.category(ch).startswith("M")


@given(st.lists(st.sampled_from(sorted(STOP) + ["GARAGE", "MARTIN", "SAS1", "ESTE"]), max_size=8))
def test_no_stop_word_survives(words: list[str]) -> None:
    out = norm(" ".join(words))
    assert not (set(out.split()) & STOP)
    assert out.split() == [w for w in words if w not in STOP]


ACCENTS = {"E": "ÉÈÊËéèêë", "A": "ÀÂÄàâä", "C": "Çç", "I": "ÎÏîï", "O": "ÔÖôö", "U": "ÙÛÜùûü"}
word = st.text(alphabet=st.sampled_from("ABCDEIOUMRT0123456789"), min_size=1, max_size=8)


@st.composite
def variant(draw: st.DrawFn) -> tuple[str, str]:
    """A plain upper-case name and a variant with other case, accents and punctuation."""
    words = draw(st.lists(word, min_size=1, max_size=5))
    plain = " ".join(words)
    out = []
    for w in words:
        chars = []
        for ch in w:
            if ch in ACCENTS and draw(st.booleans()):
                ch = draw(st.sampled_from(ACCENTS[ch]))
            elif draw(st.booleans()):
                ch = ch.lower()
            chars.append(ch)
        out.append("".join(chars))
    seps = [draw(st.sampled_from([" ", "-", "'", ".", "&", ", ", " / ", "’", "  "])) for _ in out[1:]]
    text = out[0] + "".join(s + w for s, w in zip(seps, out[1:], strict=True))
    text = draw(st.sampled_from(["", " ", "."])) + text + draw(st.sampled_from(["", " ", ".", " SARL"]))
    return plain, text


@given(variant())
def test_case_accent_punctuation_insensitive(pair: tuple[str, str]) -> None:
    plain, text = pair
    assert norm(text) == norm(plain)
