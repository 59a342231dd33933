/*
 * tiny_sum.c - a very short freestanding guest for exhaustive per-step tests.
 *
 * Exercises: lw/sw over an int array, lh/sh (signed halfwords) and lb/sb
 * (signed bytes) with sign extension, a counted loop with branches,
 * mult (64-bit signed product via mfhi/mflo), div and divu by divisors
 * loaded from memory, a hex write to stdout, and exit code 3 (plain exit,
 * 4001, issued by __start). About 400 instructions.
 */
#include "freestanding.h"

int words[8] = {1, -2, 30, -400, 5000, -60000, 700000, 123456789};
short halves[6] = {-1, 2, -300, 4000, -32768, 32767};
signed char bytes[6] = {-128, 127, -1, 1, 100, -100};
int divisors[2] = {-7, 10};

int main(void)
{
    int sum = 0;

    for (int i = 0; i < 8; i++) {
        sum += words[i];                     /* lw */
        words[i] = sum;                      /* sw: running prefix sums */
    }
    for (int i = 0; i < 6; i++) {
        sum += halves[i];                    /* lh: sign-extended */
        halves[i] = (short)sum;              /* sh: truncating store */
        sum ^= bytes[i];                     /* lb: sign-extended */
        bytes[i] = (signed char)sum;         /* sb */
    }

    int q = sum / divisors[0];               /* div: quotient (mflo) */
    int r = sum % divisors[0];               /*      remainder (mfhi) */
    unsigned uq = (unsigned)sum / (unsigned)divisors[1];   /* divu */
    long long p = (long long)sum * words[3]; /* mult: 64-bit product */
    int mix = q ^ r ^ (int)uq ^ (int)(p >> 32) ^ (int)p;
    mix += words[7] + halves[4] + bytes[0];  /* read modified data back */

    put_str("tiny_sum ");
    put_hex((unsigned)mix);
    return 3;
}
