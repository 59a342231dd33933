/*
 * exitcode.c - static glibc guest with a non-zero exit status.
 *
 * Exercises: glibc start-up, one printf, and the exit path from main's
 * return value (exit -> stdio flush -> exit_group(7)). Exits 7.
 */
#include <stdio.h>

int main(void)
{
    printf("exiting with status 7\n");
    return 7;
}
