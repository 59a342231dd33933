/*
 * loop.c - a long, CPU-bound freestanding guest (~35M instructions).
 *
 * Exercises, in one deterministic mixing loop: xorshift32 (sll/srl/xor),
 * rotates (rotr), multiply (mul and 64-bit multu via mfhi), unsigned and
 * signed division/remainder (divu/div), word, halfword and byte
 * loads/stores on a stack array, and data-dependent branches. At the end it
 * prints the checksum in hex and exits through exit_group(0) (4246).
 * ITERS is fixed at build time (a freestanding guest has no convenient argv);
 * -DITERS=N builds a longer or shorter variant.
 */
#include "freestanding.h"

#ifndef ITERS
#define ITERS 600000u /* benchmarks/startup.py builds longer variants with -DITERS=... */
#endif

static unsigned int rotl(unsigned int x, int k)
{
    return (x << k) | (x >> (32 - k));
}

int main(void)
{
    unsigned int table[64];          /* lives on the stack: sw/lw */
    unsigned short halves[16];       /* sh/lhu */
    signed char bytes[32];           /* sb/lb */
    unsigned int x = 0x2545f491u;    /* xorshift state */
    unsigned int acc = 0x9e3779b9u;

    for (int i = 0; i < 64; i++)
        table[i] = (unsigned)i * 0x01000193u;
    for (int i = 0; i < 16; i++)
        halves[i] = (unsigned short)(i * 4099);
    for (int i = 0; i < 32; i++)
        bytes[i] = (signed char)(i * 37);

    for (unsigned int i = 0; i < ITERS; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;

        unsigned int k = x & 63;
        table[k] += x * (i | 1u);                     /* lw, mul, sw */
        acc += table[(i * 7u) & 63];

        if (x & 1u)
            acc ^= x / ((i & 0xffu) + 1u);            /* divu */
        else
            acc += (unsigned)((int)x % (int)((i & 7u) + 3u)); /* div */

        unsigned long long wide = (unsigned long long)acc * 0x5bd1e995u;
        acc ^= (unsigned int)(wide >> 32);            /* multu, mfhi */

        halves[i & 15] ^= (unsigned short)acc;        /* lhu/sh */
        bytes[(acc >> 3) & 31] += (signed char)x;     /* lb/sb */
        acc += (unsigned)(int)bytes[i & 31] + halves[(x >> 8) & 15];

        acc = rotl(acc, 7);                           /* rotr */
        if ((int)acc < 0)
            acc -= i;
    }

    put_str("loop checksum ");
    put_hex(acc ^ x);
    sys_exit_group(0);
}
