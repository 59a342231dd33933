#!/usr/bin/env bash
# Rebuild the flexEmu guest programs (MIPS32r2 big-endian, static ELF) and
# record what each does under qemu-mips as NAME.expected.json.
#
# Usage: scenarios/programs/build.sh   (from anywhere; needs
#        gcc-mips-linux-gnu, libc6-dev-mips-cross, qemu-user, python3)
#
# Output is reproducible: rerunning yields byte-identical ELFs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
HERE="$(pwd -P)"

CC="${CC:-mips-linux-gnu-gcc}"
READELF="${READELF:-mips-linux-gnu-readelf}"
OBJDUMP="${OBJDUMP:-mips-linux-gnu-objdump}"
QEMU="$(command -v "${QEMU:-qemu-mips}")"
PYTHON="${PYTHON:-python3}"

# The single source of truth for every program's kind and its run.
#   name       | kind  | argv (JSON list)          | stdin (JSON string)
# kind: "free" = no libc, own __start (freestanding.h); "glibc" = static glibc;
#       "smc" = "free" linked with -N (one writable, executable segment, for code that
#       rewrites itself) and recorded with `qemu-mips -singlestep`: qemu's default
#       translation does not see a store to the block it is running (MIPS leaves that
#       UNPREDICTABLE without SYNCI); flexEmu fetches every instruction from memory.
# An empty argv means the guest is started with argc = 0 by flexEmu; qemu
# cannot do that, so it runs those with argv[0] = NAME (the programs with an
# empty argv never look at argv).
PROGRAMS='
hello      | free  | []                        | ""
loop       | free  | []                        | ""
stdin_echo | glibc | ["stdin_echo", "a", "b"]  | "hello world\nflexemu reads stdin\n"
sort       | glibc | ["sort", "7"]             | ""
trap       | free  | []                        | ""
exitcode   | glibc | []                        | ""
tiny_sum   | free  | []                        | ""
likely     | free  | []                        | ""
smc        | smc   | []                        | "$\u0002**"
slots      | free  | []                        | ""
hostile_end | free | []                        | "c"
spin       | free  | []                        | ""
'

COMMON=(-O2 -march=mips32r2 -static -Wall -Wextra
        "-ffile-prefix-map=$HERE=." -Wl,--build-id=none)
FREE=(-mno-abicalls -fno-pic -msoft-float
      -nostdlib -ffreestanding -fno-builtin -Wl,-e,__start)
SMC=("${FREE[@]}" -Wl,-N)
GLIBC=()

check_elf() {  # static, non-PIE, no interpreter, MIPS big-endian
    local elf="$1" hdr
    hdr="$("$READELF" -lh "$elf")"
    grep -Eq 'Type:[[:space:]]+EXEC' <<<"$hdr" || { echo "$elf: not ET_EXEC" >&2; exit 1; }
    grep -q 'big endian' <<<"$hdr" || { echo "$elf: not big-endian" >&2; exit 1; }
    grep -Eq 'Machine:[[:space:]]+MIPS' <<<"$hdr" || { echo "$elf: not MIPS" >&2; exit 1; }
    if grep -Eq '^[[:space:]]*(INTERP|DYNAMIC)[[:space:]]' <<<"$hdr"; then
        echo "$elf: has PT_INTERP/PT_DYNAMIC" >&2; exit 1
    fi
}

check_no_fpu() {  # freestanding programs must be integer-only
    local elf="$1"
    if "$OBJDUMP" -d --no-show-raw-insn "$elf" |
        grep -Eq $'\t''(l|s)[wd]c1|[cm][ft]c1|mfhc1|mthc1|bc1[ft]|c\.[a-z]+\.[sd]|\.(s|d|w|l|ps)'$'\t'; then
        echo "$elf: contains FPU instructions" >&2; exit 1
    fi
}

run_expect() {  # qemu_options name argv_json stdin_json -> name.expected.json
    "$PYTHON" - "$QEMU" "$@" <<'PY'
import json, os, signal, subprocess, sys

qemu, qemu_options, name, argv_json, stdin_json = sys.argv[1:]
argv, stdin = json.loads(argv_json), json.loads(stdin_json)
argv0 = argv[0] if argv else name
proc = subprocess.run(
    [qemu, *qemu_options.split(), "-0", argv0, "./" + name, *argv[1:]],
    input=stdin.encode(), capture_output=True, env={}, timeout=120,
)
rc = proc.returncode
expected = {
    "argv": argv,
    "stdin": stdin,
    "stdout": proc.stdout.decode("utf-8"),
    "exit_code": rc if rc >= 0 else None,
    "signal": signal.Signals(-rc).name if rc < 0 else None,
}
with open(name + ".expected.json", "w") as f:
    json.dump(expected, f, indent=2)
    f.write("\n")
status = f"exit {rc}" if rc >= 0 else f"killed by {expected['signal']}"
print(f"  {name:<11} {status:<18} stdout={proc.stdout.decode()!r}")
PY
}

while IFS='|' read -r name kind argv stdin; do
    name="$(xargs <<<"$name")"
    [[ -n "$name" ]] || continue
    kind="$(xargs <<<"$kind")"
    argv="$(sed -E 's/^ +| +$//g' <<<"$argv")"
    stdin="$(sed -E 's/^ +| +$//g' <<<"$stdin")"
    case "$kind" in
        free)  flags=("${COMMON[@]}" "${FREE[@]}") ;;
        glibc) flags=("${COMMON[@]}" "${GLIBC[@]}") ;;
        smc)   flags=("${COMMON[@]}" "${SMC[@]}") ;;
        *) echo "unknown kind '$kind' for $name" >&2; exit 1 ;;
    esac
    "$CC" "${flags[@]}" -o "$name" "$name.c"
    check_elf "$name"
    if [[ "$kind" != glibc ]]; then check_no_fpu "$name"; fi
    qemu_options=""
    if [[ "$kind" == smc ]]; then qemu_options="-singlestep"; fi
    run_expect "$qemu_options" "$name" "$argv" "$stdin"
done <<<"$PROGRAMS"

echo "sha256:"
while IFS='|' read -r name _; do
    name="$(xargs <<<"$name")"
    if [[ -n "$name" ]]; then sha256sum "$name"; fi
done <<<"$PROGRAMS"

# ---------------------------------------------------------------------------
# RISC-V (RV64 and RV32) builds of the same C sources.
#
# Each NAME.c listed below is also built as NAME.rv64 and/or NAME.rv32 (same
# folder; the suffix names the ISA, MIPS programs keep the bare name), and
# its qemu-riscv64 / qemu-riscv32 run is recorded as NAME.rvXX.expected.json.
# The output of every program is the same on every ISA. Needs
# gcc-riscv64-linux-gnu and libc6-dev-riscv64-cross (gcc 12, glibc 2.36).
# Debian ships no RV32 glibc, so the glibc programs are RV64 only; RV32 has
# no libgcc either, so the RV32 programs avoid 64-bit division.
#   name       | kind  | xlens  | argv (JSON list)         | stdin (JSON string)
# ---------------------------------------------------------------------------
RV_CC="${RV_CC:-riscv64-linux-gnu-gcc}"
RV_READELF="${RV_READELF:-riscv64-linux-gnu-readelf}"
RV_OBJDUMP="${RV_OBJDUMP:-riscv64-linux-gnu-objdump}"
RISCV_PROGRAMS='
hello      | free  | 64 32  | []                       | ""
tiny_sum   | free  | 64 32  | []                       | ""
trap       | free  | 64 32  | []                       | ""
loop       | free  | 64 32  | []                       | ""
spin       | free  | 64 32  | []                       | ""
exitcode   | glibc | 64     | []                       | ""
stdin_echo | glibc | 64     | ["stdin_echo", "a", "b"] | "hello world\nflexemu reads stdin\n"
sort       | glibc | 64     | ["sort", "7"]            | ""
'
RV_COMMON=(-O2 -static -Wall -Wextra "-ffile-prefix-map=$HERE=." -Wl,--build-id=none)
# gp is set by _start in freestanding_riscv.h; C is included to exercise compressed code.
RV_FREE=(-nostdlib -ffreestanding -fno-builtin -Wl,-e,_start)
RV_ARCH_64=(-march=rv64imac -mabi=lp64)
RV_ARCH_32=(-march=rv32imac -mabi=ilp32)
RV_GLIBC=()  # Debian's static glibc needs rv64gc / lp64d, the compiler's default

check_riscv_elf() {  # elf xlen: static, non-PIE, no interpreter, little-endian RISC-V
    local elf="$1" xlen="$2" hdr
    hdr="$("$RV_READELF" -lh "$elf")"
    grep -Eq 'Type:[[:space:]]+EXEC' <<<"$hdr" || { echo "$elf: not ET_EXEC" >&2; exit 1; }
    grep -q 'little endian' <<<"$hdr" || { echo "$elf: not little-endian" >&2; exit 1; }
    grep -Eq 'Machine:[[:space:]]+RISC-V' <<<"$hdr" || { echo "$elf: not RISC-V" >&2; exit 1; }
    grep -Eq "Class:[[:space:]]+ELF$xlen" <<<"$hdr" || { echo "$elf: not ELF$xlen" >&2; exit 1; }
    if grep -Eq '^[[:space:]]*(INTERP|DYNAMIC)[[:space:]]' <<<"$hdr"; then
        echo "$elf: has PT_INTERP/PT_DYNAMIC" >&2; exit 1
    fi
}

check_riscv_no_fpu() {  # freestanding programs must not touch the FP registers
    local elf="$1"
    if "$RV_OBJDUMP" -d --no-show-raw-insn "$elf" | grep -Eq $'\t''(c\.)?f[a-z.]+'$'\t'; then
        echo "$elf: contains FP instructions" >&2; exit 1
    fi
}

RV_BUILT=()
while IFS='|' read -r name kind xlens argv stdin; do
    name="$(xargs <<<"$name")"
    [[ -n "$name" ]] || continue
    kind="$(xargs <<<"$kind")"
    argv="$(sed -E 's/^ +| +$//g' <<<"$argv")"
    stdin="$(sed -E 's/^ +| +$//g' <<<"$stdin")"
    for xlen in $xlens; do
        arch_var="RV_ARCH_$xlen[@]"
        case "$kind" in
            free)  flags=("${RV_COMMON[@]}" "${!arch_var}" "${RV_FREE[@]}") ;;
            glibc) flags=("${RV_COMMON[@]}" "${RV_GLIBC[@]}") ;;
            *) echo "unknown kind '$kind' for $name" >&2; exit 1 ;;
        esac
        out="$name.rv$xlen"
        "$RV_CC" "${flags[@]}" -o "$out" "$name.c"
        check_riscv_elf "$out" "$xlen"
        if [[ "$kind" == free ]]; then check_riscv_no_fpu "$out"; fi
        QEMU="$(command -v "qemu-riscv$xlen")" run_expect "" "$out" "$argv" "$stdin"
        RV_BUILT+=("$out")
    done
done <<<"$RISCV_PROGRAMS"

echo "sha256 (RISC-V):"
sha256sum "${RV_BUILT[@]}"
