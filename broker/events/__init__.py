"""Events of file transfers: the Altinn event types, kept in an event log and carried as CloudEvents 1.0.

A use case appends an event in the same transaction as the status change it announces
(``broker.events.event_log.append_event``), so an event exists if and only if its change committed.
"""
