"""Plain domain objects and rules. Nothing here does I/O or imports the rest of the project."""
