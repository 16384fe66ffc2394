/* src/json.c: a tiny JSON writer for model.json, reports and cv.json (17 digits). */
#include <math.h>

#include "json.h"

static void sep(rrr_json *j, const char *key)
{
    fprintf(j->f, "%s\n%*s", j->first ? "" : ",", 2 * j->depth, "");
    j->first = 0;
    if (key != NULL)
        fprintf(j->f, "\"%s\": ", key); /* keys are our own identifiers: no escaping */
}

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF), 0 if there is none. */
static int utf8_len(const unsigned char *s)
{
    const unsigned c = s[0];
    int k = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3
          : c >= 0xf0 && c < 0xf5 ? 4 : 0;
    for (int i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) || /* overlong; surrogate */
        (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))   /* overlong; > 10FFFF */
        return 0;
    return k;
}

/* A string as JSON: a byte that is not part of well-formed UTF-8 (a path's, say: file
 * names are bytes) is written as the lone surrogate U+DC00 + byte, as Python's
 * surrogateescape does, so the text stays valid JSON and os.fsencode gives the bytes back. */
static void str(FILE *f, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    fputc('"', f);
    while (*u) {
        const int k = utf8_len(u);
        if (*u == '"' || *u == '\\')
            fprintf(f, "\\%c", *u);
        else if (*u < 0x20 || k == 0)
            fprintf(f, "\\u%04x", k == 0 ? 0xdc00u + *u : (unsigned)*u);
        else
            fwrite(u, 1, (size_t)k, f);
        u += k > 0 ? k : 1;
    }
    fputc('"', f);
}

static void num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f); /* JSON has no NaN/Inf */
}

void rrr_json_begin(rrr_json *j, FILE *f)
{
    j->f = f;
    j->depth = 1;
    j->first = 1;
    fputc('{', f);
}

void rrr_json_end(rrr_json *j) { fputs("\n}\n", j->f); }

void rrr_json_obj_begin(rrr_json *j, const char *key)
{
    sep(j, key);
    fputc('{', j->f);
    j->depth++;
    j->first = 1;
}

void rrr_json_obj_end(rrr_json *j)
{
    j->depth--;
    fprintf(j->f, "\n%*s}", 2 * j->depth, "");
    j->first = 0;
}

void rrr_json_num(rrr_json *j, const char *key, double v)
{
    sep(j, key);
    num(j->f, v);
}

void rrr_json_int(rrr_json *j, const char *key, long long v)
{
    sep(j, key);
    fprintf(j->f, "%lld", v);
}

void rrr_json_bool(rrr_json *j, const char *key, int v)
{
    sep(j, key);
    fputs(v ? "true" : "false", j->f);
}

void rrr_json_str(rrr_json *j, const char *key, const char *v)
{
    sep(j, key);
    str(j->f, v);
}

void rrr_json_nums(rrr_json *j, const char *key, const double *v, size_t n)
{
    sep(j, key);
    fputc('[', j->f);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            fputs(", ", j->f);
        num(j->f, v[i]);
    }
    fputc(']', j->f);
}

void rrr_json_null(rrr_json *j, const char *key)
{
    sep(j, key);
    fputs("null", j->f);
}

void rrr_json_ints(rrr_json *j, const char *key, const long long *v, size_t n)
{
    sep(j, key);
    fputc('[', j->f);
    for (size_t i = 0; i < n; i++)
        fprintf(j->f, "%s%lld", i > 0 ? ", " : "", v[i]);
    fputc(']', j->f);
}

void rrr_json_arr_begin(rrr_json *j, const char *key)
{
    sep(j, key);
    fputc('[', j->f);
    j->depth++;
    j->first = 1;
}

void rrr_json_arr_end(rrr_json *j)
{
    j->depth--;
    fprintf(j->f, "\n%*s]", 2 * j->depth, "");
    j->first = 0;
}

void rrr_json_raw(rrr_json *j, const char *member, size_t len)
{
    sep(j, NULL);
    fwrite(member, 1, len, j->f);
}
