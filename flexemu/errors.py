"""Errors that name the problem, so the CLI can print one line and exit 2."""


class FlexEmuError(Exception):
    """Base class for every error flexEmu reports to a user."""


class LoaderError(FlexEmuError):
    """The ELF file cannot be run: not an ELF, foreign, dynamic, truncated, ..."""


class ProofError(FlexEmuError):
    """A step proof is malformed or does not verify."""


class WitnessError(FlexEmuError):
    """A state witness has the wrong size or impossible field values."""


class InvalidWitnessError(WitnessError):
    """A witness field holds a value no state can have; `field` is its byte offset, the
    argument of the on-chain verifier's error of the same name."""

    def __init__(self, field: int, message: str) -> None:
        super().__init__(message)
        self.field = field
