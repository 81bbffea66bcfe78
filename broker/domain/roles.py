"""The roles a participant takes in DSVE; a module of its own so that what reads only roles (the message
catalogue, ``dsve validate``) does not load the participant records."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    BANK = "bank"
    MEGLER = "megler"
    # A settlement company: in DSVE it receives and sends the megler's messages of the settlement (oppgjør).
    OPPGJOERSFORETAK = "oppgjoersforetak"
    KARTVERKET = "kartverket"
