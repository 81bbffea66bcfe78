"""The megler (settlement company) simulator: cases, routing of incoming deeds, and the deed package."""
