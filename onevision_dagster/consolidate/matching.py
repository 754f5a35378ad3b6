"""Name normalisation for attaching fines to companies (SOURCES.md section 5).

Both sides of the match (the fine's ``RAISON_SOCIALE``, the register's
``denomination`` and ``sigle``) go through :func:`normalise_names`, so the
comparison is insensitive to case, accents, punctuation and legal-form words.

The register holds millions of names: the work is done with Arrow compute
kernels (RE2 regular expressions, utf8proc normalisation) on the *distinct*
values only, then expanded back with ``take``, never with a Python loop per row.

Steps, in order:

1. upper case;
2. Unicode NFKD decomposition, combining marks (``\\p{M}``) dropped;
3. upper case again (compatibility decompositions such as the ligature ``ﬁ``
   give lower-case letters; without it the function would not be idempotent);
4. every character that is not a letter or a digit (``[^\\p{L}\\p{N}]``)
   becomes a space;
5. the whole words ``SARL SAS SASU SA EURL SCI SNC SELARL STE SOCIETE ETS``
   are dropped;
6. runs of spaces collapsed to one, leading/trailing spaces stripped.

A null stays null; a name made only of stop words or punctuation gives ``""``
(which, by the contract, matches nothing).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

STOP_WORDS: tuple[str, ...] = (
    "SARL",
    "SAS",
    "SASU",
    "SA",
    "EURL",
    "SCI",
    "SNC",
    "SELARL",
    "STE",
    "SOCIETE",
    "ETS",
)

# Words are separated by exactly two spaces and the string padded with one
# space at each end before this pattern runs, so consecutive stop words each
# get their own non-overlapping " WORD " match (RE2 has no look-around).
_STOP_WORDS_RE = " (?:" + "|".join(STOP_WORDS) + ") "


def _normalise_arrow(values: pa.Array) -> pa.Array:
    """Normalise a (small) array of distinct strings."""
    s = pc.utf8_upper(values)
    # Decomposition only matters for non-ASCII names: most register names are
    # plain ASCII, so the costly kernels run on the others only.
    non_ascii = pc.invert(pc.fill_null(pc.string_is_ascii(s), True))
    if pc.any(non_ascii).as_py():
        t = pc.filter(s, non_ascii)
        t = pc.utf8_normalize(t, form="NFKD")
        t = pc.replace_substring_regex(t, pattern=r"\p{M}+", replacement="")
        t = pc.utf8_upper(t)
        s = pc.replace_with_mask(s, non_ascii, t)
    s = pc.replace_substring_regex(s, pattern=r"[^\p{L}\p{N}]+", replacement="  ")
    s = pc.binary_join_element_wise(" ", s, " ", "")
    s = pc.replace_substring_regex(s, pattern=_STOP_WORDS_RE, replacement=" ")
    s = pc.replace_substring_regex(s, pattern="  +", replacement=" ")
    return pc.utf8_trim(s, characters=" ")


def _normalise_any_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if pa.types.is_large_string(values.type) or pa.types.is_string_view(values.type):
        values = values.cast(pa.string())
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), pa.string())
    if not pa.types.is_string(values.type):
        raise TypeError(f"normalise_names expects strings, got {values.type}")
    encoded = pc.dictionary_encode(values)
    distinct = _normalise_arrow(encoded.dictionary)
    return pc.take(distinct, encoded.indices)


def normalise_names(values: pd.Series | pa.Array | pa.ChunkedArray) -> pd.Series | pa.Array:
    """Return the section-5 normalised form of every name, same container as given.

    A pandas Series comes back as an object Series with the same index and name
    (nulls as ``None``); an Arrow array comes back as an Arrow string array.
    """
    if isinstance(values, pd.Series):
        arr = pa.array(values.astype(object).where(values.notna(), None), type=pa.string(), from_pandas=True)
        out = _normalise_any_array(arr)
        data = out.to_pandas().to_numpy(dtype=object)
        return pd.Series(data, index=values.index, name=values.name, dtype=object)
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return _normalise_any_array(values)
    raise TypeError(f"normalise_names expects a pandas Series or an Arrow array, got {type(values)!r}")
