"""Helpers every product shares and no user imports: argument validation, the Ray
connection, and the table of modules that moved (old import paths and old pickles)."""
