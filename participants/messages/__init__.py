"""DSVE messages as typed Python data: built and encoded with xmlschema, signed, read back after a hardened parse."""
