#!/bin/sh
# Rebuild the RISC-V instruction test programs and record their expected output with qemu.
# gen_cases.py is the source: it writes the assembly (to a scratch folder) and the case
# manifests (cases/); the ELFs (elf/) and qemu's stdout (expected/) are committed.
# Needs gcc-riscv64-linux-gnu and qemu-user (qemu-riscv64, qemu-riscv32). Run from anywhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 "$here/gen_cases.py" "$scratch"
rm -rf "$here/elf" "$here/expected" "$here/cases"
mkdir -p "$here/elf" "$here/expected" "$here/cases"
for source in "$scratch"/*.S; do
    name=$(basename "$source" .S)
    case "$name" in
        *_rv64) march=rv64imafdc_zicsr_zifencei mabi=lp64 qemu=qemu-riscv64 ;;
        *_rv32) march=rv32imafdc_zicsr_zifencei mabi=ilp32 qemu=qemu-riscv32 ;;
    esac
    # compiled from inside the scratch folder, so the ELF names only "$name.S"
    # assembled to a named object inside the scratch folder, so the ELF's symbol table
    # holds no temporary file name: rebuilding gives the same bytes
    (cd "$scratch" && riscv64-linux-gnu-gcc -c -march=$march -mabi=$mabi -o "$name.o" "$name.S" \
        && riscv64-linux-gnu-gcc -nostdlib -static -march=$march -mabi=$mabi \
            -Wl,--build-id=none,--no-relax -o "$here/elf/$name" "$name.o")
    $qemu "$here/elf/$name" > "$here/expected/$name.out"
    cp "$scratch/$name.cases.json" "$here/cases/"
done
# qemu's verdict on single encodings (gen_cases.LEGALITY): one "index exit-status" line each
for source in "$scratch"/legality/*.S; do
    name=$(basename "$source" .S)
    case "$name" in
        *_rv64) march=rv64imac_zicsr_zifencei mabi=lp64 qemu=qemu-riscv64 ;;
        *_rv32) march=rv32imac_zicsr_zifencei mabi=ilp32 qemu=qemu-riscv32 ;;
    esac
    riscv64-linux-gnu-gcc -nostdlib -static -march=$march -mabi=$mabi -o "$scratch/legality/$name" "$source"
    status=0
    $qemu "$scratch/legality/$name" 2>/dev/null || status=$?
    echo "${name%%_*} $status"
done > "$here/expected/legality.txt"
cp "$scratch/legality.json" "$here/cases/"
