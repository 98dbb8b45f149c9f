"""Gas Town for VS Code: an AI workforce hosted by a pygls language server."""

__version__ = "0.1.0"
