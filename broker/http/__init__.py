"""The HTTP API: one module per resource, auth middleware, problem responses, OpenAPI."""
