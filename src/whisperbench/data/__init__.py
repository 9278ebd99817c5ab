"""The clips and corpora whisperbench ships as package data, so that an installed whisperbench
runs its default benchmark without a source checkout: ``audio`` (the espeak-ng reference clips,
each with its ``.txt``), ``realspeech`` (37 real recordings, ``--clips real``) and ``corpus``
(the 48-utterance espeak-ng corpus in LibriSpeech's layout, ``--clips corpus``). They are made
by ``fixtures/audio/make_clips.py``, ``fixtures/corpus/make_corpus.py`` and the sources listed in
``realspeech/SOURCES.md``."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["folder"]


def folder(name: str) -> Path:
    """The folder of the shipped set ``name`` (``audio``, ``realspeech`` or ``corpus``), where
    the installed package holds it (a wheel installs package data as plain files)."""
    return Path(str(files(__name__) / name))
