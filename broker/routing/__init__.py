"""Routing: the transport seam, RabbitMQ and in-process transports, the outbox relay and events."""
