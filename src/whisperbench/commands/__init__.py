"""One module per ``whisperbench`` sub-command."""
