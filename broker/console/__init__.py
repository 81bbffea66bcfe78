"""The broker's web console under ``/console``: server-rendered pages for operators and participants' staff.

``setup_console(app, settings)`` mounts it; ``dsve console add-user`` creates its users.
"""

from broker.console.setup import setup_console

__all__ = ["setup_console"]
