"""Participant systems: the SDK and the bank, megler and Kartverket simulators."""
