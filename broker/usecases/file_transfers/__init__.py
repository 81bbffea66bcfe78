"""The use cases of the Altinn 3 Broker-compatible file-transfer API, one module per step of a transfer."""
