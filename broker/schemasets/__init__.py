"""Schema sets: the project's own ``native`` catalogue and third-party schemas (the official DSVE schema,
Kartverket's ``innsending.xsd``) loaded from a directory the operator gives, each described by a mapping file
that lives in this repository (``xsd/sets/<name>.toml``) while the schemas themselves never do.
"""
