/* src/cli.c: a table-driven --option parser with strict number checking. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int rrr_cli_decimal(const char *s, size_t n, int integer)
{
    if (n == 0)
        return 0;
    for (size_t k = 0; k < n; k++) {
        int c = (unsigned char)s[k];
        if (!((c >= '0' && c <= '9') ||
              (!integer && (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))))
            return 0;
    }
    return 1;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (!rrr_cli_decimal(s, strlen(s), 1)) /* strtoull would take " 2", "+2", "-2" */
        return 0;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    *v = (uint64_t)x;
    return 1;
}

static int parse_value(const opt_spec *o, const char *s)
{
    uint64_t u;
    switch (o->kind) {
    case OPT_STR:
        *(const char **)o->dst = s;
        return *s != '\0';
    case OPT_SIZE:
        if (!parse_u64(s, &u) || u > SIZE_MAX)
            return 0;
        *(size_t *)o->dst = (size_t)u;
        return 1;
    case OPT_INT:
        if (!parse_u64(s, &u) || u > 2147483647u)
            return 0;
        *(int *)o->dst = (int)u;
        return 1;
    case OPT_LONG:
        if (!parse_u64(s, &u) || u > (uint64_t)LONG_MAX)
            return 0;
        *(long *)o->dst = (long)u;
        return 1;
    case OPT_U64:
        if (!parse_u64(s, &u))
            return 0;
        *(uint64_t *)o->dst = u;
        return 1;
    case OPT_DOUBLE: {
        char *end;
        if (!rrr_cli_decimal(s, strlen(s), 0)) /* strtod would take " 2", "0x1p3", "inf" */
            return 0;
        errno = 0;
        double x = strtod(s, &end);
        /* ERANGE also flags underflow: 1e-310 (subnormal) is a number, but 1e-400 would be
         * taken as 0, which the user did not write; an overflow (+-HUGE_VAL) is refused by
         * isfinite */
        if ((errno != 0 && errno != ERANGE) || *end != '\0' || end == s || !isfinite(x) ||
            (errno == ERANGE && x == 0))
            return 0;
        *(double *)o->dst = x + 0.0; /* -0 is 0 */
        return 1;
    }
    case OPT_FLAG:
        break;
    }
    return 0;
}

int rrr_cli_given(const opt_spec *specs, const char *name)
{
    for (; specs->name != NULL; specs++)
        if (strcmp(specs->name, name) == 0)
            return specs->seen;
    return 0;
}

static const char *kind_name(opt_kind k)
{
    switch (k) {
    case OPT_DOUBLE: return "a finite number (within double's range: 1e-400 would be 0)";
    case OPT_STR: return "a value";
    case OPT_INT: return "a non-negative integer (at most 2147483647)";
    case OPT_LONG: return "a non-negative integer (at most 9223372036854775807)";
    default: return "a non-negative integer (at most 18446744073709551615)";
    }
}

rrr_status rrr_cli_parse(int argc, char **argv, int first, opt_spec *specs, int *help,
                         rrr_err *e)
{
    *help = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = 1;
            return RRR_OK;
        }
        /* "--opt=value" is "--opt value" (GNU style); "=" ends the name */
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        int len = eq ? (int)(eq - a) : (int)strlen(a);
        opt_spec *o = specs;
        while (o->name != NULL && !(strncmp(o->name, a, (size_t)len) == 0 && o->name[len] == '\0'))
            o++;
        if (o->name == NULL)
            return RRR_FAIL(e, RRR_EINVAL, "unknown option '%.*s' (see --help)", len, a);
        if (o->seen)
            return RRR_FAIL(e, RRR_EINVAL, "option %s given twice", o->name);
        o->seen = 1;
        if (o->kind == OPT_FLAG) {
            if (eq != NULL)
                return RRR_FAIL(e, RRR_EINVAL, "option %s takes no value", o->name);
            *(int *)o->dst = 1;
            continue;
        }
        if (eq == NULL && i + 1 >= argc)
            return RRR_FAIL(e, RRR_EINVAL, "option %s needs %s", a, kind_name(o->kind));
        const char *v = eq ? eq + 1 : argv[++i];
        if (!parse_value(o, v))
            return RRR_FAIL(e, RRR_EINVAL, "option %s: '%s' is not %s", o->name, v,
                            kind_name(o->kind));
    }
    for (opt_spec *o = specs; o->name != NULL; o++)
        if (o->required && !o->seen)
            return RRR_FAIL(e, RRR_EINVAL, "missing required option %s (see --help)", o->name);
    return RRR_OK;
}
