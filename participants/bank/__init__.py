"""The bank simulator: a loan book and the bank's side of the DSVE process."""
