"""Layer 4, simulation: a scenario file (`scenario`) played by two agents on one chain
(`simulator`), what it produced (`outcome`), and how that reads: the JSON report (`report`),
the live narration (`narration`), the bisection picture (`plot`), shared wording
(`formatting`)."""
