"""The broker's web console under ``/console``: server-rendered pages for operators and participants' staff.

``broker.console.setup.setup_console(app, settings)`` mounts it; ``dsve console add-user`` creates its users.
"""
