"""Document signers: a local key store (the embedded default, keys under .local/pki) and a client
for a remote signing service; and the reference server of that service's contract."""
