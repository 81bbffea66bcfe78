"""dsve-broker: the message-box broker for digital real-estate transactions (DSVE)."""

__version__ = "0.1.0"
