#!/bin/sh
# Rebuild the RISC-V instruction test programs and record their expected output with qemu.
# Needs gcc-riscv64-linux-gnu and qemu-user (qemu-riscv64, qemu-riscv32). Run from anywhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python3 "$here/gen_cases.py" "$here/src"
mkdir -p "$here/elf" "$here/expected"
for source in "$here"/src/*.S; do
    name=$(basename "$source" .S)
    case "$name" in
        *_rv64) march=rv64imafdc_zicsr_zifencei mabi=lp64 qemu=qemu-riscv64 ;;
        *_rv32) march=rv32imafdc_zicsr_zifencei mabi=ilp32 qemu=qemu-riscv32 ;;
    esac
    riscv64-linux-gnu-gcc -nostdlib -static -ffreestanding -march=$march -mabi=$mabi \
        -Wl,--build-id=none,--no-relax -o "$here/elf/$name" "$source"
    $qemu "$here/elf/$name" > "$here/expected/$name.out"
done
