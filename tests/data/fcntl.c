/* Calls fcntl (4055) the ways glibc and peer MIPS test suites do and writes one line per
   call: "fd cmd -> v0 a3". Exit code: the number of calls whose result differs from
   docs/spec.md section 7 (0 under flexEmu). Build command: tests/data/README.md. */
static long sys3(long n, long a, long b, long c, long *error) {
    register long v0 __asm__("$2") = n;
    register long a0 __asm__("$4") = a;
    register long a1 __asm__("$5") = b;
    register long a2 __asm__("$6") = c;
    register long a3 __asm__("$7");
    __asm__ volatile("syscall"
                     : "+r"(v0), "=r"(a3)
                     : "r"(a0), "r"(a1), "r"(a2)
                     : "$1", "$3", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
                       "$24", "$25", "hi", "lo", "memory");
    *error = a3;
    return v0;
}

static char *decimal(char *out, unsigned long value) {
    char digits[12];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (n) *out++ = digits[--n];
    return out;
}

struct call { long fd, cmd, arg, value, error; };

static const struct call calls[] = {
    {0, 3, 0, 0, 0},   /* F_GETFL stdin: O_RDONLY */
    {1, 3, 0, 1, 0},   /* F_GETFL stdout: O_WRONLY */
    {2, 3, 0, 1, 0},   /* F_GETFL stderr: O_WRONLY */
    {1, 1, 0, 0, 0},   /* F_GETFD: no FD_CLOEXEC */
    {1, 2, 1, 0, 0},   /* F_SETFD FD_CLOEXEC: accepted */
    {1, 1, 0, 0, 0},   /* ... and changes nothing */
    {3, 3, 0, 9, 1},   /* another fd: EBADF */
    {-1, 1, 0, 9, 1},  /* fd -1: EBADF */
    {2, 4, 0, 22, 1},  /* F_SETFL: EINVAL */
    {0, 1030, 0, 22, 1}, /* F_DUPFD_CLOEXEC: EINVAL */
};

void __start(void) {
    char line[64];
    int wrong = 0;
    long error;
    for (unsigned i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        const struct call *c = &calls[i];
        long value = sys3(4055, c->fd, c->cmd, c->arg, &error);
        wrong += value != c->value || error != c->error;
        char *p = decimal(line, (unsigned long)c->fd);
        *p++ = ' ';
        p = decimal(p, (unsigned long)c->cmd);
        *p++ = ' '; *p++ = '-'; *p++ = '>'; *p++ = ' ';
        p = decimal(p, (unsigned long)value);
        *p++ = ' ';
        p = decimal(p, (unsigned long)error);
        *p++ = '\n';
        sys3(4004, 1, (long)line, p - line, &error);
    }
    sys3(4001, wrong, 0, 0, &error);
    for (;;) {
    }
}
