/* src/signals.h: SIGTERM/SIGUSR1/SIGINT only set a flag (signals.c); the iteration engine agrees
 * on it at the next iteration boundary. */
#ifndef RRR_SIGNALS_H
#define RRR_SIGNALS_H

#include <signal.h>

/* Set while a SIGTERM, SIGUSR1 or SIGINT is pending (a second SIGINT kills). */
extern volatile sig_atomic_t rrr_stop_requested;

/* Local. Install the handlers (fit, cv, gen and predict: the commands that checkpoint or
 * clean up). */
void rrr_signals_install(void);

#endif
