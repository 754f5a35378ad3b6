"""Errors an operator or an agent reads: French, naming the file and the problem."""

from __future__ import annotations


class OneVisionError(Exception):
    """Base class: a clear message, no traceback needed to understand it."""


class FileRejected(OneVisionError):
    """A whole file cannot be read; its partition keeps the last good snapshot."""

    def __init__(self, fichier: str, probleme: str):
        self.fichier = fichier
        self.probleme = probleme
        super().__init__(f"Fichier {fichier} refusé : {probleme}. Les dernières données valides sont conservées.")
