"""Results from many machines in one place.

- ``machines``: what a machine is, read from what its saved runs record (chip or GPU, memory,
  OS, torch and engine versions), its name (a team's ``--machine-label``, else what it is,
  never its hostname) and the folder its runs take in a shared store;
- ``hub``: a Hugging Face dataset repository as that store: ``whisperbench publish`` uploads
  saved runs to it (one commit per run, never rewriting anything there), and
  ``--storage hf://datasets/ORG/NAME`` reads them back through the HF cache.

The per-device leaderboard built from them is ``report/machines.py``.
"""
