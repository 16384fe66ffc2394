/* src/json.h: the JSON we write (model.json, reports, cv.json) and a small validating
 * reader for the files we read back (json.c, json_read.c; serial). */
#ifndef RRR_JSON_H
#define RRR_JSON_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

/* ---- writer ---------------------------------------------------------------------- */

typedef struct rrr_json {
    FILE *f;
    int depth;
    int first; /* no comma needed before the next member */
} rrr_json;

void rrr_json_begin(rrr_json *j, FILE *f);                 /* "{"            */
void rrr_json_end(rrr_json *j);                            /* "}\n"          */
void rrr_json_num(rrr_json *j, const char *key, double v); /* 17 sig. digits; null if non-finite */
void rrr_json_int(rrr_json *j, const char *key, long long v);
void rrr_json_bool(rrr_json *j, const char *key, int v);
void rrr_json_null(rrr_json *j, const char *key);
void rrr_json_str(rrr_json *j, const char *key, const char *v);
void rrr_json_nums(rrr_json *j, const char *key, const double *v, size_t n);
void rrr_json_ints(rrr_json *j, const char *key, const long long *v, size_t n);
void rrr_json_obj_begin(rrr_json *j, const char *key);     /* nested object  */
void rrr_json_obj_end(rrr_json *j);
void rrr_json_arr_begin(rrr_json *j, const char *key);     /* nested array (of arrays) */
void rrr_json_arr_end(rrr_json *j);
/* a member as JSON text ("key": value), written as it is: the caller has validated it */
void rrr_json_raw(rrr_json *j, const char *member, size_t len);

/* ---- reader ---------------------------------------------------------------------- */

typedef enum { RRR_JNONE, RRR_JNULL, RRR_JBOOL, RRR_JNUM, RRR_JSTR, RRR_JOBJ, RRR_JARR } rrr_jkind;

/* A value found in a document. Strings point into the text, escapes unresolved
 * (rrr_json_string resolves them). */
typedef struct {
    rrr_jkind kind;
    double num;
    int b;
    const char *s;
    size_t slen;
} rrr_jval;

/* Local, pure. Validate the whole JSON text buf[0, len) (RFC 8259, nesting at most 64)
 * and find the member at path: "key" for a member of the top-level object, "obj.key" one
 * level down. v->kind is RRR_JNONE when there is no such member. RRR_EINVAL, with
 * "NAME: not valid JSON (...)" in e, when the text is not a JSON object. */
rrr_status rrr_json_lookup(const char *buf, size_t len, const char *path, rrr_jval *v,
                           const char *name, rrr_err *e);

/* Local, pure. Validate the whole text as rrr_json_lookup does, then call fn once for each
 * member of the top-level object, in order: key, klen its name (escapes unresolved), the
 * member's text [start, end) from its key's opening quote to the end of its value. */
typedef void (*rrr_json_member_fn)(const char *key, size_t klen, const char *start,
                                   const char *end, void *arg);
rrr_status rrr_json_members(const char *buf, size_t len, rrr_json_member_fn fn, void *arg,
                            const char *name, rrr_err *e);

/* Local, pure. The string value v with its escapes resolved into out (NUL-terminated, at
 * most cap bytes with the NUL); 0 if v is not a string or does not fit. */
int rrr_json_string(const rrr_jval *v, char *out, size_t cap);

#endif
