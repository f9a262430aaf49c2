"""The signing-service reference server (`hub signer serve`): the hub's signing contract over a local key store."""
