"""The error types whisperbench raises for bad input, each naming the problem and the fix."""

from __future__ import annotations


class WhisperBenchError(Exception):
    """Base class of every error whisperbench raises on purpose."""


class UnknownModelError(WhisperBenchError, ValueError):
    """A model size that the model map does not know."""


class UnknownImplementationError(WhisperBenchError, ValueError):
    """An implementation name that the registry does not know."""


class ImplementationUnavailableError(WhisperBenchError, RuntimeError):
    """An implementation that is known but cannot run here (a missing package, an unsupported
    device)."""


class DeviceUnavailableError(WhisperBenchError, RuntimeError):
    """A device that was asked for but is not present on this machine."""


class AudioError(WhisperBenchError, ValueError):
    """An audio file that cannot be used: missing, empty, corrupt or not audio."""


class UnknownFormatError(WhisperBenchError, ValueError):
    """A weight format that no declaration in ``weights.formats`` describes."""


class CacheDirError(WhisperBenchError, ValueError):
    """A model cache folder that cannot serve: a file, under a file, or not writable where
    something must be written into it."""


class ModelImportError(WhisperBenchError, ValueError):
    """A local model folder that cannot be imported into a Hugging Face cache."""


class DeviceOutOfMemoryError(WhisperBenchError, MemoryError):
    """A load or a transcription that ran out of device (or host) memory."""


class HistoryError(WhisperBenchError, ValueError):
    """A saved benchmark run that cannot be read."""


class ResultError(WhisperBenchError, ValueError):
    """A benchmark's ``extra_info`` that is not a whisperbench result (or lacks a field)."""


class DatasetError(WhisperBenchError, ValueError):
    """A ``--dataset`` that cannot be read as a corpus (or one item of it that cannot)."""


class OutputError(WhisperBenchError, ValueError):
    """A place a command cannot write its output to (a report folder that is a file)."""
