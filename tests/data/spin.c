/* Never exits: writes "spin\n", then counts in a loop forever. Build command:
   tests/data/README.md. */
static const char text[] = "spin\n";

void __start(void) {
    register int v0 __asm__("$2") = 4004; /* write(1, text, 5) */
    register int a0 __asm__("$4") = 1;
    register const char *a1 __asm__("$5") = text;
    register int a2 __asm__("$6") = 5;
    __asm__ volatile("syscall" : "+r"(v0) : "r"(a0), "r"(a1), "r"(a2) : "$7", "memory");
    for (volatile unsigned int count = 0;; count++) {
    }
}
