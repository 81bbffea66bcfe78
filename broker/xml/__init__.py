"""XML: hardened parsing, the schema catalogue, validation reports, signatures and the test PKI."""
