"""Layer 2, contract bindings on a `Chain`: the step verifier of each ISA (`verifier`), the
dispute game and its factory (`game`, with the enums in `enums`, the events in `events` and
the agents' view of a game in `view`), the one deployment of both
(`deploy`), and `check --onchain` (`onchain_check`)."""
