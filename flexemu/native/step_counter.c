/*
 * Native UC_HOOK_CODE callback that counts executed MIPS instructions exactly.
 *
 * Why: unicorn's own `count` limit is ambiguous on MIPS (when the K-th
 * instruction is a branch its delay slot runs too, and the API does not say
 * so), and a Python UC_HOOK_CODE callback is ~100x slower than native code.
 * This callback only touches a plain C struct that Python allocates with
 * ctypes and reads back after (or during) emulation; it never enters the
 * Python interpreter, so it needs no GIL.
 *
 * The module itself only exports the callback's address; the Python side
 * (flexemu/native/step_counter.py) registers it with uc_hook_add.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* Layout mirrored by the ctypes.Structure in step_counter.py: keep in sync. */
typedef struct {
    uint64_t hooked;       /* number of hook calls so far */
    uint64_t limit;        /* stop once hooked exceeds this */
    uint64_t last_address; /* address of the most recent hook call */
    uint64_t prev_address; /* address of the hook call before it */
    int (*stop)(void *uc); /* uc_emu_stop */
    /* uc_mem_read; used once per run, when the limit stops it */
    int (*mem_read)(void *uc, uint64_t address, void *bytes, uint64_t size);
    /* raw bytes of the instruction at prev_address, captured at the stop:
       if it is a branch, the stopping instruction is its delay slot, which
       unicorn still executes. Read here, before the delay slot runs, so a
       delay slot that overwrites the branch cannot fool the decoder. */
    uint8_t prev_word[4];
} flexemu_step_counter;

/* Called by unicorn before each instruction executes. */
void flexemu_count_step(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    flexemu_step_counter *c = (flexemu_step_counter *)user_data;
    (void)size;
    c->prev_address = c->last_address;
    c->last_address = address;
    if (++c->hooked > c->limit) {
        c->mem_read(uc, c->prev_address, c->prev_word, 4);
        c->stop(uc);
    }
}

static PyObject *callback_address(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromVoidPtr((void *)&flexemu_count_step);
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
