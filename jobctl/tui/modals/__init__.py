"""Dialogs over any view: the confirmation that states the count, and the key help."""
