"""One module per console page; each has a ``routes`` table that ``broker.console.setup`` adds."""
