/* Calls fcntl (4055) the ways glibc and peer MIPS test suites do and writes one line per
   call: "fd cmd -> v0 a3". Exit code: the number of calls whose result differs from
   docs/spec.md section 7 (0 under flexEmu). Build command: tests/data/README.md. */
#include "freestanding.h"

#define SYS_fcntl 4055

static char *decimal(char *out, unsigned long value)
{
    char digits[12];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (n)
        *out++ = digits[--n];
    return out;
}

/* flexEmu's write stops at the end of a 32-byte leaf: write the rest too. */
static void put(const char *s, unsigned long n)
{
    while (n) {
        long written = sys_write(1, s, n);
        if (written <= 0)
            return;
        s += written;
        n -= (unsigned long)written;
    }
}

struct call { long fd, cmd, arg, value, error; };

static const struct call calls[] = {
    {0, 3, 0, 0, 0},     /* F_GETFL stdin: O_RDONLY */
    {1, 3, 0, 1, 0},     /* F_GETFL stdout: O_WRONLY */
    {2, 3, 0, 1, 0},     /* F_GETFL stderr: O_WRONLY */
    {1, 1, 0, 0, 0},     /* F_GETFD: no FD_CLOEXEC */
    {1, 2, 1, 0, 0},     /* F_SETFD FD_CLOEXEC: accepted */
    {1, 1, 0, 0, 0},     /* ... and changes nothing */
    {3, 3, 0, 9, 1},     /* another fd: EBADF */
    {-1, 1, 0, 9, 1},    /* fd -1: EBADF */
    {2, 4, 0, 22, 1},    /* F_SETFL: EINVAL */
    {0, 1030, 0, 22, 1}, /* F_DUPFD_CLOEXEC: EINVAL */
};

int main(void)
{
    char line[64];
    int wrong = 0;
    for (unsigned i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        const struct call *c = &calls[i];
        long result = sys3(SYS_fcntl, c->fd, c->cmd, c->arg); /* -errno on failure */
        long error = result < 0, value = error ? -result : result;
        wrong += value != c->value || error != c->error;
        char *p = decimal(line, (unsigned long)c->fd);
        *p++ = ' ';
        p = decimal(p, (unsigned long)c->cmd);
        *p++ = ' ';
        *p++ = '-';
        *p++ = '>';
        *p++ = ' ';
        p = decimal(p, (unsigned long)value);
        *p++ = ' ';
        p = decimal(p, (unsigned long)error);
        *p++ = '\n';
        put(line, (unsigned long)(p - line));
    }
    return wrong;
}
