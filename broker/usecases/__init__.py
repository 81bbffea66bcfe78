"""The broker's use cases, one module each: submit (intake), validate, list, view, download, confirm,
case view, participant lookup and the lifecycle (expiry and purge). HTTP and CLI call these; only these
touch the store, through its unit of work."""
