/*
 * hostile.h - output helpers for the hostile guests (smc, slots, hostile_end).
 *
 * flexEmu's write may return a short count (a step touches a bounded number
 * of memory leaves, docs/spec.md section 7), so these loop until everything
 * is written, as libc does.
 */
#ifndef FLEXEMU_HOSTILE_H
#define FLEXEMU_HOSTILE_H

#include "freestanding.h"

static inline void write_all(const char *s, unsigned long n)
{
    while (n > 0) {
        long done = sys_write(1, s, n);
        if (done <= 0)
            sys_exit_group(99);
        s += done;
        n -= (unsigned long)done;
    }
}

static inline void say(const char *s)
{
    write_all(s, fs_strlen(s));
}

static inline void say_hex(unsigned int v)
{
    char buf[11];
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 8; i++) {
        unsigned int nib = (v >> (28 - 4 * i)) & 0xf;
        buf[2 + i] = (char)(nib < 10 ? '0' + nib : 'a' + nib - 10);
    }
    buf[10] = '\n';
    write_all(buf, sizeof buf);
}

#endif
