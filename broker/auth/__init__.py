"""Authentication: the JWT bearer token grant, the broker's own access tokens and the signing key behind them."""
