"""`jobctl top`, the Textual dashboard: a later issue."""
