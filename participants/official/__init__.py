"""The simulators' side of the official DSVE profile: documents of ``dsve.xsd`` built from a sale's facts with
xmlschema (never hand-built strings), and the answers the specification prescribes to each request.

The schema comes from the ``dsve`` schema set's directory (``DSVE_SCHEMA_SETS``); it is not in the repository.
"""
