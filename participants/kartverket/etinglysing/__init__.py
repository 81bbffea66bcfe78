"""Kartverket's e-tinglysing interface as the simulator speaks it: a ``forsendelse`` per innsending.xsd in,
``forsendelsesstatus`` out, judged against the simulator's land register."""
