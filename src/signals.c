/* src/signals.c: SIGTERM/SIGUSR1/SIGINT only set a flag (async-signal-safe); solvers agree on
 * it at the next iteration boundary, checkpoint, and exit with code 5. */
#include <signal.h>
#include <string.h>

#include "rrr.h"
#include "signals.h"

volatile sig_atomic_t rrr_stop_requested = 0;

static void on_stop(int sig)
{
    if (sig == SIGINT && rrr_stop_requested) { /* Ctrl-C twice: die as Ctrl-C does */
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
    }
    rrr_stop_requested = 1;
}

void rrr_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* slow syscalls (file I/O) resume instead of failing */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL); /* Ctrl-C of a run without mpirun (mpirun takes its own) */
}

void rrr_stop_request(void)
{
    rrr_stop_requested = 1;
}

void rrr_stop_clear(void)
{
    rrr_stop_requested = 0;
}
