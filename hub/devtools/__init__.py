"""Development and test tools, never on the production path: the synthetic population and demo,
the reference servers of the SIAK and signing contracts (with fault injection), contract
generation, and seeding. The production modules (domain, intake, documents, service, adapters,
bootstrap, the runner) never import this package; import-linter checks it in the test command."""
