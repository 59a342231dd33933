/*
 * sort.c - static glibc guest exercising the heap and qsort.
 *
 * Exercises: brk/mmap-backed malloc, qsort (glibc's merge sort with a
 * temporary buffer, plus indirect calls to the comparator), a
 * calloc/realloc/free round, strtoul on argv[1], and printf. Fills N ints
 * from a deterministic LCG seeded by argv[1] (default 42), sorts them, and
 * prints a checksum plus min/median/max. Exits 0.
 */
#include <stdio.h>
#include <stdlib.h>

#define N 3000

static unsigned int lcg_state;

static unsigned int lcg(void)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state >> 1;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    lcg_state = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 10) : 42u;
    printf("seed=%u n=%d\n", lcg_state, N);

    int *v = malloc(N * sizeof *v);
    if (!v)
        return 1;
    for (int i = 0; i < N; i++)
        v[i] = (int)(lcg() % 2000001u) - 1000000;
    qsort(v, N, sizeof *v, cmp_int);

    unsigned int sum = 0;
    for (int i = 0; i < N; i++) {
        if (i > 0 && v[i - 1] > v[i]) {
            printf("not sorted at %d\n", i);
            return 1;
        }
        sum = sum * 31u + (unsigned int)v[i];
    }
    printf("checksum=%08x min=%d median=%d max=%d\n", sum, v[0], v[N / 2],
           v[N - 1]);

    /* calloc (must be zeroed), grow with realloc (contents preserved). */
    unsigned int *w = calloc(256, sizeof *w);
    if (!w)
        return 1;
    unsigned int zero_sum = 0;
    for (int i = 0; i < 256; i++) {
        zero_sum |= w[i];
        w[i] = (unsigned int)v[i * 11];
    }
    w = realloc(w, 64 * 1024 * sizeof *w); /* 256 KiB: large enough for mmap */
    if (!w)
        return 1;
    unsigned int kept = 0;
    for (int i = 0; i < 256; i++)
        kept += w[i] == (unsigned int)v[i * 11];
    w[64 * 1024 - 1] = 0xdeadbeefu;
    printf("calloc_zero=%s realloc_kept=%u/256 tail=%08x\n",
           zero_sum == 0 ? "yes" : "no", kept, w[64 * 1024 - 1]);
    free(w);
    free(v);
    return 0;
}
