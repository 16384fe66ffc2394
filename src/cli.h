/* src/cli.h: the command-line parser shared by the subcommands in main.c. */
#ifndef RRR_CLI_H
#define RRR_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef enum { OPT_FLAG, OPT_STR, OPT_SIZE, OPT_INT, OPT_LONG, OPT_U64, OPT_DOUBLE } opt_kind;

/* One option: "--name" with a value of kind, stored at dst; seen is set when given. */
typedef struct {
    const char *name;
    opt_kind kind;
    void *dst;
    int required;
    int seen;
} opt_spec;

/* Local, pure. s[0, n) is written in decimal: digits only (integer), or digits, '.', 'e',
 * 'E', '+', '-' (a number; strtod decides the rest): no space, hexadecimal or "inf". */
int rrr_cli_decimal(const char *s, size_t n, int integer);

/* Local. Parse argv[first..argc) against specs (NULL name ends the table); a value follows
 * its option as the next argument or after '=' ("--tol 1e-8", "--tol=1e-8"). "--help" sets
 * *help. Unknown options, missing or malformed values, and missing required options are
 * RRR_EINVAL with a message in e. Every rank parses the same argv, so all agree. */
rrr_status rrr_cli_parse(int argc, char **argv, int first, opt_spec *specs, int *help,
                         rrr_err *e);
/* Local, pure. After rrr_cli_parse: whether the option name was given. */
int rrr_cli_given(const opt_spec *specs, const char *name);

#endif
