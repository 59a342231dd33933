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
    if (flag == FLAG_RUN)
        return;
    if (flag != FLAG_STOP) {
        c->reg_read(uc, (int)(UC_MIPS_REG_0 + flag - FLAG_JUMP), &target);
        if ((target & 3) == 0 && c->code[(uint32_t)target >> 2] != FLAG_STOP)
            return;
    }
    c->stop_reason = STOP_GUARD;
    c->stop(uc);
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
