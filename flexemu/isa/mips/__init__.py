"""MIPS32 release 2, big-endian, o32 Linux: the first ISA of flexEmu."""
