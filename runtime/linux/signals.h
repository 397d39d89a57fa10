/* Signal names as Docker takes them: "SIGTERM", "TERM", "term", "15",
 * "SIGRTMIN+3". */
#ifndef BERTH_RUNTIME_SIGNALS_H
#define BERTH_RUNTIME_SIGNALS_H

/* Returns the signal number, or -EINVAL ("Invalid signal: X"). */
int rt_signal_parse(const char *s);
/* "SIGTERM" for 15; "" for an unknown number. */
const char *rt_signal_name(int sig);

#endif
