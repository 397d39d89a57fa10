#include "runtime/linux/signals.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <strings.h>

static const struct {
    const char *name;
    int sig;
} table[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD}, {"CLD", SIGCHLD},
    {"CONT", SIGCONT}, {"FPE", SIGFPE},   {"HUP", SIGHUP},       {"ILL", SIGILL},   {"INT", SIGINT},
    {"IO", SIGIO},     {"IOT", SIGIOT},   {"KILL", SIGKILL},     {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},
    {"PROF", SIGPROF}, {"PWR", SIGPWR},   {"QUIT", SIGQUIT},     {"SEGV", SIGSEGV}, {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},       {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
    {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

int rt_signal_parse(const char *s)
{
    if (!s || !*s)
        return -EINVAL;
    char *end;
    long n = strtol(s, &end, 10);
    if (*end == 0)
        return (n > 0 && n <= SIGRTMAX) ? (int)n : -EINVAL;
    const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcasecmp(name, table[i].name) == 0)
            return table[i].sig;
    if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
        bool min = strncasecmp(name, "RTMIN", 5) == 0;
        int base = min ? SIGRTMIN : SIGRTMAX;
        if (!name[5])
            return base;
        long off = strtol(name + 5, &end, 10);
        if (*end)
            return -EINVAL;
        int sig = base + (int)off;
        return (sig >= SIGRTMIN && sig <= SIGRTMAX) ? sig : -EINVAL;
    }
    return -EINVAL;
}

const char *rt_signal_name(int sig)
{
    static __thread char buf[16];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].sig == sig) {
            strcpy(buf, "SIG");
            strcat(buf, table[i].name);
            return buf;
        }
    return "";
}
