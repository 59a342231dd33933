/*
 * stdin_echo.c - static glibc guest that consumes stdin.
 *
 * Exercises: glibc start-up (TLS, auxv, argv/envp), stdio buffering on
 * read(0, ...) until EOF via getchar(), and printf/putchar on stdout.
 * Prints argc and every argv[i], then the line/word/byte counts of stdin
 * (like `wc`) and the input text upper-cased. Exits 0.
 */
#include <ctype.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    static char text[4096];
    size_t bytes = 0, lines = 0, words = 0;
    int in_word = 0;
    int c;

    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);

    while ((c = getchar()) != EOF) {
        if (bytes < sizeof text)
            text[bytes] = (char)toupper(c);
        bytes++;
        if (c == '\n')
            lines++;
        if (isspace(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }

    printf("lines=%zu words=%zu bytes=%zu\n", lines, words, bytes);
    fwrite(text, 1, bytes < sizeof text ? bytes : sizeof text, stdout);
    return 0;
}
