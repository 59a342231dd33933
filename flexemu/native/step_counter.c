/*
 * Native UC_HOOK_CODE callback that counts executed MIPS instructions exactly
 * and stops unicorn before any instruction it must not run itself.
 *
 * Why: unicorn's own `count` limit is ambiguous on MIPS (when the K-th
 * instruction is a branch its delay slot runs too, and the API does not say
 * so), and a Python UC_HOOK_CODE callback is ~100x slower than native code.
 * This callback only touches a plain C struct that Python allocates with
 * ctypes and reads back after (or during) emulation; it never enters the
 * Python interpreter, so it needs no GIL.
 *
 * The guard (the second callback): `code` holds one flag byte per word of
 * the 32-bit address space (a lazily zero-filled 1 GiB mapping, so only the
 * words of scanned pages take memory), filled by the engine's scan with the
 * reference's decoder (flexemu/mips/decode.py):
 *   0      stop before it: the reference steps it (also every word of a page
 *          unicorn may not run: never scanned, being written, kseg0/1/2, page 0);
 *   1      run it;
 *   2 + r  a JR/JALR through register r: stop before it unless the target is
 *          aligned and its flag is not 0 (so unicorn never fetches from anywhere
 *          it could fault or run MIPS16 code, and never from stale code).
 *   34     run it here (BLOCK_STOP: only the block hook below refuses it).
 * The scan never lets a stop land in a delay slot (a branch whose slot would
 * stop is itself flagged 0), so a guard stop always leaves an exact state.
 *
 * The module itself only exports the callback's address; the Python side
 * (flexemu/native/step_counter.py) registers it with uc_hook_add.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define FLAG_STOP 0u
#define FLAG_RUN 1u
#define FLAG_JUMP 2u         /* FLAG_JUMP + r: a JR/JALR through register r */
#define FLAG_BLOCK_STOP 34u  /* run it here; never inside a block admitted whole (below) */
#define UC_MIPS_REG_0 2      /* unicorn's register id of $0; $n is 2 + n */

enum { STOP_NONE = 0, STOP_LIMIT = 1, STOP_GUARD = 2 };

/* Layout mirrored by the ctypes.Structure in step_counter.py: keep in sync. */
typedef struct {
    uint64_t hooked;       /* number of hook calls so far */
    uint64_t limit;        /* stop once hooked exceeds this */
    /* addresses[hooked & 1]: the most recent hook call; addresses[(hooked - 1) & 1]: the
       one before it (a two-entry ring: one store per instruction instead of a shift) */
    uint64_t addresses[2];
    int (*stop)(void *uc); /* uc_emu_stop */
    /* uc_mem_read; used once per run, when the limit stops it */
    int (*mem_read)(void *uc, uint64_t address, void *bytes, uint64_t size);
    int (*reg_read)(void *uc, int regid, void *value); /* uc_reg_read */
    const uint8_t *code;   /* the guard's flags (see above); read by the guarded callback */
    uint32_t stop_reason;  /* STOP_* of the stop this hook requested */
    /* raw bytes of the previous hook call's instruction, captured at the stop:
       if it is a branch, the stopping instruction is its delay slot, which
       unicorn still executes. Read here, before the delay slot runs, so a
       delay slot that overwrites the branch cannot fool the decoder. */
    uint8_t prev_word[4];
} flexemu_step_counter;

/* The limit: stop once hook call `limit + 1` happened (see step_counter.py). */
static inline int count(flexemu_step_counter *c, void *uc, uint64_t address)
{
    uint64_t hooked = ++c->hooked;
    c->addresses[hooked & 1] = address;
    if (hooked > c->limit) {
        c->mem_read(uc, c->addresses[(hooked - 1) & 1], c->prev_word, 4);
        c->stop_reason = STOP_LIMIT;
        c->stop(uc);
        return 0;
    }
    return 1;
}

/* Called by unicorn before each instruction executes: count only. */
void flexemu_count_step(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    (void)size;
    count((flexemu_step_counter *)user_data, uc, address);
}

/* Called by unicorn before each instruction executes: count, and stop before what the
   guard does not let unicorn run. */
void flexemu_guarded_step(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    flexemu_step_counter *c = (flexemu_step_counter *)user_data;
    uint32_t flag;
    uint64_t target = 0;
    (void)size;
    if (!count(c, uc, address))
        return;
    flag = c->code[(uint32_t)address >> 2];
    if (flag == FLAG_RUN || flag == FLAG_BLOCK_STOP)
        return;
    if (flag != FLAG_STOP) {
        c->reg_read(uc, (int)(UC_MIPS_REG_0 + flag - FLAG_JUMP), &target);
        if ((target & 3) == 0 && c->code[(uint32_t)target >> 2] != FLAG_STOP)
            return;
    }
    c->stop_reason = STOP_GUARD;
    c->stop(uc);
}


/*
 * Block mode: a UC_HOOK_BLOCK callback that admits a whole translation block or
 * stops unicorn before it (unicorn 2.1.4 runs nothing of a block whose hook called
 * uc_emu_stop; pinned by tests/test_block_counter.py). A block is admitted only if
 * it fits below the limit, none of its words is flagged STOP or BLOCK_STOP, and a
 * JR/JALR (always its last word but one: a MIPS block ends after a branch's delay
 * slot) jumps through a register that no earlier word of the block may write (rt
 * or rd field, a superset of every GPR write) and that now holds a target the
 * per-instruction rule would accept. So every admitted block runs exactly as the
 * per-instruction guard would let it run, and its words are counted at its start.
 * On a refusal, `step_words` says how many words from the block's start the
 * reference must step before unicorn can make progress again.
 */
#define MAX_BLOCK_WORDS 511u /* TCG stops a block at 512 instructions, maybe before a slot */

enum { STOP_REFUSED = 3 };

typedef struct {
    uint64_t count;        /* words of the blocks admitted so far */
    uint64_t limit;        /* admit a block only if count + its words <= limit */
    uint64_t block_start;  /* the block admitted last */
    uint64_t block_words;
    uint64_t stop_address; /* the block refused */
    uint64_t step_words;   /* words the reference steps from stop_address after a refusal */
    uint64_t check_address; /* the word (or JR target) whose flag refused the block */
    int (*stop)(void *uc);
    int (*mem_read)(void *uc, uint64_t address, void *bytes, uint64_t size);
    int (*reg_read)(void *uc, int regid, void *value);
    const uint8_t *code;
    /* per word, filled by the scan (flexemu/isa/mips/decode.py): the words of a block
       starting there (0: not allowed, or reaching into the next page) | NO_FALL_THROUGH */
    const uint8_t *runs;
    const uint32_t *targets; /* per word: a branch's static target (big-endian), else 0 */
    uint32_t stop_reason;
} flexemu_block_counter;

#define RUN_MASK 0x7Fu
#define NO_FALL_THROUGH 0x80u
#define MAX_BLOCK_RUN 48u /* decode.MAX_BLOCK_RUN */

/* May unicorn translate a block starting at `address`? Only on an allowed page, and only a
   short one that stays on its page: unicorn 2.1.4 crashes translating ~400 words under a
   block hook, and a translation that faults (a fetch) leaves it unusable. */
static int admissible(const flexemu_block_counter *c, uint64_t address)
{
    uint32_t run;
    if ((address & 3) != 0 || address > 0xFFFFFFFFull)
        return 0;
    run = c->runs[(uint32_t)address >> 2] & RUN_MASK;
    return run != 0 && run <= MAX_BLOCK_RUN;
}

static uint32_t big_endian(uint32_t stored)
{
    const uint8_t *b = (const uint8_t *)&stored;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static void refuse(flexemu_block_counter *c, void *uc, uint64_t address, uint32_t reason,
                   uint64_t step_words, uint64_t check_address)
{
    c->stop_address = address;
    c->step_words = step_words;
    c->check_address = check_address;
    c->stop_reason = reason;
    c->stop(uc);
}

/* Index of the last word before `end` that may write GPR r (rt or rd field), or -1. */
static int last_writer(flexemu_block_counter *c, void *uc, uint64_t start, uint32_t end, uint32_t r)
{
    uint8_t bytes[4 * MAX_BLOCK_WORDS];
    int i;
    if (end == 0)
        return -1;
    if (c->mem_read(uc, start, bytes, 4u * end) != 0)
        return (int)end - 1; /* cannot read: as if the word before the jump wrote it */
    for (i = (int)end - 1; i >= 0; i--) {
        uint32_t word = ((uint32_t)bytes[4 * i] << 24) | ((uint32_t)bytes[4 * i + 1] << 16) |
                        ((uint32_t)bytes[4 * i + 2] << 8) | bytes[4 * i + 3];
        if (((word >> 16) & 31u) == r || ((word >> 11) & 31u) == r)
            return i;
    }
    return -1;
}

void flexemu_block_step(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    flexemu_block_counter *c = (flexemu_block_counter *)user_data;
    uint32_t words = size / 4u, i, flag;
    uint64_t jump_target;
    int no_fall_through = 0;
    const uint8_t *flags;
    if ((address & 3) != 0 || size % 4u != 0 || words == 0 || words > MAX_BLOCK_WORDS ||
        address > 0xFFFFFFFFull) {
        refuse(c, uc, address, STOP_REFUSED, 1, address);
        return;
    }
    if (c->count + words > c->limit) {
        refuse(c, uc, address, STOP_LIMIT, c->limit - c->count, address);
        return;
    }
    flags = c->code + ((uint32_t)address >> 2);
    jump_target = 0;
    for (i = 0; i < words; i++) {
        flag = flags[i];
        if (flag == FLAG_RUN)
            continue;
        if (flag >= FLAG_JUMP && flag < FLAG_BLOCK_STOP && i + 2 == words) {
            uint32_t r = flag - FLAG_JUMP;
            uint64_t target = 0;
            int writer = last_writer(c, uc, address, i, r);
            if (writer >= 0) {
                refuse(c, uc, address, STOP_GUARD, (uint64_t)writer + 1, address + 4u * i);
                return;
            }
            c->reg_read(uc, (int)(UC_MIPS_REG_0 + r), &target);
            target &= 0xFFFFFFFFull;
            if ((target & 3) != 0 || c->code[(uint32_t)target >> 2] == FLAG_STOP) {
                refuse(c, uc, address, STOP_GUARD, (uint64_t)i + 1, target);
                return;
            }
            jump_target = target;
            continue;
        }
        refuse(c, uc, address, STOP_GUARD, (uint64_t)i + 1, address + 4u * i);
        return;
    }
    /* Where unicorn goes next must be translatable: the jump's target, a branch's static
       target and the fall-through. Refused, the reference steps the block. */
    if (words >= 2) {
        uint32_t at = ((uint32_t)address >> 2) + words - 2;
        uint32_t target = big_endian(c->targets[at]);
        if (jump_target != 0 && !admissible(c, jump_target)) {
            refuse(c, uc, address, STOP_GUARD, words, jump_target);
            return;
        }
        if (target != 0 && !admissible(c, target)) {
            refuse(c, uc, address, STOP_GUARD, words, target);
            return;
        }
        no_fall_through = (c->runs[at] & NO_FALL_THROUGH) != 0;
    }
    if (!no_fall_through && !admissible(c, address + size)) {
        refuse(c, uc, address, STOP_GUARD, words, address + size);
        return;
    }
    c->block_start = address;
    c->block_words = words;
    c->count += words;
}

static PyObject *callback_address(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromVoidPtr((void *)&flexemu_count_step);
}

static PyObject *guarded_callback_address(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromVoidPtr((void *)&flexemu_guarded_step);
}

static PyObject *block_callback_address(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromVoidPtr((void *)&flexemu_block_step);
}

static PyObject *block_struct_size(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromSize_t(sizeof(flexemu_block_counter));
}

static PyObject *struct_size(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromSize_t(sizeof(flexemu_step_counter));
}

static PyMethodDef methods[] = {
    {"callback_address", callback_address, METH_NOARGS,
     "callback_address() -> int\n\nAddress of the native UC_HOOK_CODE callback "
     "void flexemu_count_step(uc_engine *, uint64_t, uint32_t, void *)."},
    {"guarded_callback_address", guarded_callback_address, METH_NOARGS,
     "guarded_callback_address() -> int\n\nAddress of flexemu_guarded_step, the counting "
     "callback that also consults the code guard."},
    {"block_callback_address", block_callback_address, METH_NOARGS,
     "block_callback_address() -> int\n\nAddress of flexemu_block_step, the UC_HOOK_BLOCK "
     "callback that admits or refuses whole blocks."},
    {"block_struct_size", block_struct_size, METH_NOARGS,
     "block_struct_size() -> int\n\nsizeof(flexemu_block_counter), to check its ctypes mirror."},
    {"struct_size", struct_size, METH_NOARGS,
     "struct_size() -> int\n\nsizeof(flexemu_step_counter), to check the ctypes mirror."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "flexemu.native._step_counter",
    "Native instruction-counting hook for unicorn (see step_counter.py).",
    -1,
    methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__step_counter(void)
{
    return PyModule_Create(&module);
}
