"""whisperbench: how fast, and how accurately, Whisper runs on this machine."""

__version__ = "0.1.0"
