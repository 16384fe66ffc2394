/* src/json_read.c: a small validating JSON reader (RFC 8259) for the files rrr reads back:
 * it checks the whole text and finds one member by path. Iterative over a bounded stack,
 * never reads past the text, allocates nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

enum { MAX_DEPTH = 64 };

typedef struct {
    const char *p, *end;
    const char *why; /* the first problem found */
} cur;

static void ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int bad(cur *c, const char *why)
{
    if (c->why == NULL)
        c->why = why;
    return 0;
}

static int hex4(const char *p)
{
    for (int i = 0; i < 4; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
              (p[i] >= 'A' && p[i] <= 'F')))
            return 0;
    return 1;
}

/* A string; on success s, n span its contents (escapes unresolved). */
static int string(cur *c, const char **s, size_t *n)
{
    if (c->p == c->end || *c->p != '"')
        return bad(c, "expected a string");
    const char *start = ++c->p;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20)
            return bad(c, "control character in a string");
        if (ch == '\\') {
            if (c->end - c->p < 2)
                return bad(c, "unterminated string");
            char e = c->p[1];
            if (e == 'u') {
                if (c->end - c->p < 6 || !hex4(c->p + 2))
                    return bad(c, "bad \\u escape");
                c->p += 6;
                continue;
            }
            if (strchr("\"\\/bfnrt", e) == NULL || e == '\0')
                return bad(c, "bad escape in a string");
            c->p += 2;
            continue;
        }
        c->p++;
    }
    if (c->p == c->end)
        return bad(c, "unterminated string");
    *s = start;
    *n = (size_t)(c->p - start);
    c->p++;
    return 1;
}

/* A number per the JSON grammar; its value by strtod on a bounded copy. */
static int number(cur *c, double *v)
{
    const char *s = c->p;
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p == c->end)
        return bad(c, "bad number");
    if (*c->p == '0')
        c->p++;
    else if (*c->p >= '1' && *c->p <= '9')
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    else
        return bad(c, "bad number");
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (c->p == c->end || *c->p < '0' || *c->p > '9')
            return bad(c, "bad number");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (c->p == c->end || *c->p < '0' || *c->p > '9')
            return bad(c, "bad number");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    char buf[64];
    size_t n = (size_t)(c->p - s);
    if (n >= sizeof buf)
        return bad(c, "number too long");
    memcpy(buf, s, n);
    buf[n] = '\0';
    *v = strtod(buf, NULL);
    return 1;
}

static int literal(cur *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return bad(c, "unexpected text");
    c->p += n;
    return 1;
}

/* A scalar value into v (objects and arrays are handled by the walker). */
static int scalar(cur *c, rrr_jval *v)
{
    char ch = *c->p;
    if (ch == '"') {
        v->kind = RRR_JSTR;
        return string(c, &v->s, &v->slen);
    }
    if (ch == 't' || ch == 'f') {
        v->kind = RRR_JBOOL;
        v->b = ch == 't';
        return literal(c, ch == 't' ? "true" : "false");
    }
    if (ch == 'n') {
        v->kind = RRR_JNULL;
        return literal(c, "null");
    }
    v->kind = RRR_JNUM;
    return number(c, &v->num);
}

/* A member's key and the ':' after it. */
static int key(cur *c, const char **k, size_t *klen)
{
    if (!string(c, k, klen))
        return 0;
    ws(c);
    if (c->p == c->end || *c->p != ':')
        return bad(c, "expected ':'");
    c->p++;
    return 1;
}

/* Does the member key at depth (1: top level) lie on path "a" or "a.b"? */
static int on_path(const char *path, int depth, const char *const keys[], const size_t klen[])
{
    const char *seg = path;
    for (int d = 1; d <= depth; d++) {
        /* "a.b": split at the first dot only, so b may itself hold dots ("files.U.npy") */
        const char *dot = d == 1 ? strchr(seg, '.') : NULL;
        size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
        if (n != klen[d] || memcmp(seg, keys[d], n) != 0)
            return 0;
        if (d < depth) {
            if (dot == NULL)
                return 0;
            seg = dot + 1;
        } else if (dot != NULL) {
            return -1; /* a prefix: the value is an object we descend into */
        }
    }
    return 1;
}

/* Walk the whole document with an explicit stack; record the value at path; with fn,
 * report each member of the top-level object as it ends. */
static int walk(cur *c, const char *path, rrr_jval *found, rrr_json_member_fn fn, void *arg)
{
    const char *mstart = NULL; /* the top-level member being read, from its key */
    char stack[MAX_DEPTH + 1];   /* '{' or '[' per open container */
    const char *keys[MAX_DEPTH + 1];
    size_t klen[MAX_DEPTH + 1];
    int depth = 0, need_value = 1, match = 0;
    ws(c);
    if (c->p == c->end || *c->p != '{')
        return bad(c, "the document is not an object");
    for (;;) {
        ws(c);
        if (c->p == c->end)
            return bad(c, "unexpected end");
        if (need_value) {
            rrr_jval v = { RRR_JNONE, 0, 0, NULL, 0 };
            if (*c->p == '{' || *c->p == '[') {
                if (depth == MAX_DEPTH)
                    return bad(c, "nested too deeply");
                if (match == 1)
                    found->kind = *c->p == '{' ? RRR_JOBJ : RRR_JARR;
                stack[++depth] = *c->p++;
                ws(c);
                if (c->p < c->end && *c->p == (stack[depth] == '{' ? '}' : ']')) {
                    c->p++;
                    depth--;
                    need_value = 0;
                } else if (stack[depth] == '[') {
                    match = 0; /* array elements are never on a path */
                } else {
                    mstart = depth == 1 ? c->p : mstart;
                    if (!key(c, &keys[depth], &klen[depth]))
                        return 0;
                    match = on_path(path, depth, keys, klen);
                }
                if (depth == 0)
                    break;
                if (depth == 1 && !need_value && fn != NULL) /* an empty {} or [] member */
                    fn(keys[1], klen[1], mstart, c->p, arg);
                continue;
            }
            if (!scalar(c, &v))
                return 0;
            if (match == 1)
                *found = v;
            need_value = 0;
            if (depth == 1 && fn != NULL)
                fn(keys[1], klen[1], mstart, c->p, arg);
            continue;
        }
        /* after a value: ',' or the end of the container */
        char close = stack[depth] == '{' ? '}' : ']';
        if (*c->p == close) {
            c->p++;
            if (--depth == 0)
                break;
            if (depth == 1 && fn != NULL)
                fn(keys[1], klen[1], mstart, c->p, arg);
            continue;
        }
        if (*c->p != ',')
            return bad(c, "expected ',' or the end of an object or array");
        c->p++;
        ws(c);
        if (stack[depth] == '{') {
            mstart = depth == 1 ? c->p : mstart;
            if (!key(c, &keys[depth], &klen[depth]))
                return 0;
            match = on_path(path, depth, keys, klen);
        } else {
            match = 0;
        }
        need_value = 1;
    }
    ws(c);
    if (c->p != c->end)
        return bad(c, "text after the document");
    return 1;
}

rrr_status rrr_json_lookup(const char *buf, size_t len, const char *path, rrr_jval *v,
                           const char *name, rrr_err *e)
{
    cur c = { buf, buf + len, NULL };
    memset(v, 0, sizeof *v);
    v->kind = RRR_JNONE;
    if (!walk(&c, path, v, NULL, NULL))
        return RRR_FAIL(e, RRR_EINVAL, "%s: not valid JSON (%s at byte %zu)", name,
                        c.why ? c.why : "malformed", (size_t)(c.p - buf));
    return RRR_OK;
}

rrr_status rrr_json_members(const char *buf, size_t len, rrr_json_member_fn fn, void *arg,
                            const char *name, rrr_err *e)
{
    rrr_jval v;
    rrr_status st = rrr_json_lookup(buf, len, "", &v, name, e); /* the whole text first */
    cur c = { buf, buf + len, NULL };
    if (st == RRR_OK)
        walk(&c, "", &v, fn, arg);
    return st;
}

/* Append the UTF-8 encoding of code point u; 0 if it does not fit. */
static int put_utf8(char *out, size_t cap, size_t *n, unsigned u)
{
    unsigned char b[4];
    size_t k;
    if (u < 0x80) { b[0] = (unsigned char)u; k = 1; }
    else if (u < 0x800) { b[0] = (unsigned char)(0xc0 | (u >> 6)); b[1] = (unsigned char)(0x80 | (u & 0x3f)); k = 2; }
    else { b[0] = (unsigned char)(0xe0 | (u >> 12)); b[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3f)); b[2] = (unsigned char)(0x80 | (u & 0x3f)); k = 3; }
    if (*n + k >= cap)
        return 0;
    memcpy(out + *n, b, k);
    *n += k;
    return 1;
}

int rrr_json_string(const rrr_jval *v, char *out, size_t cap)
{
    size_t n = 0;
    if (v->kind != RRR_JSTR || cap == 0)
        return 0;
    for (size_t i = 0; i < v->slen; i++) {
        char ch = v->s[i];
        if (ch == '\\') {
            char e = v->s[++i];
            if (e == 'u') {
                unsigned u = (unsigned)strtoul((char[5]){ v->s[i + 1], v->s[i + 2], v->s[i + 3],
                                                          v->s[i + 4], 0 }, NULL, 16);
                i += 4;
                if (u >= 0xdc80 && u <= 0xdcff) { /* a byte json.c escaped (not UTF-8) */
                    if (n + 1 >= cap)
                        return 0;
                    out[n++] = (char)(u & 0xff);
                } else if (!put_utf8(out, cap, &n, u)) {
                    return 0;
                }
                continue;
            }
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            ch = to[strchr(from, e) - from];
        }
        if (n + 1 >= cap)
            return 0;
        out[n++] = ch;
    }
    out[n] = '\0';
    return 1;
}
