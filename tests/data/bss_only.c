/* Only .text and .bss (page-aligned): ld gives the bss-only segment p_filesz 0 and a
   p_offset past the end of the stripped file. Writes "ok\n" from .bss, exits 0.
   Build command: tests/data/README.md. */
static char buffer[64] __attribute__((aligned(4096)));

void __start(void) {
    buffer[0] = 'o';
    buffer[1] = 'k';
    buffer[2] = '\n';
    register int v0 __asm__("$2") = 4004; /* write(1, buffer, 3) */
    register int a0 __asm__("$4") = 1;
    register char *a1 __asm__("$5") = buffer;
    register int a2 __asm__("$6") = 3;
    __asm__ volatile("syscall" : "+r"(v0) : "r"(a0), "r"(a1), "r"(a2) : "$7", "memory");
    v0 = 4001; /* exit(0) */
    a0 = 0;
    __asm__ volatile("syscall" : : "r"(v0), "r"(a0));
    for (;;) {
    }
}
