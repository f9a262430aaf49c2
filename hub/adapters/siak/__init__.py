"""The SIAK-style civil registry over HTTP: the contract's models, the client adapter, the reference server."""
