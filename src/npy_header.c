/* src/npy_header.c: parse and write .npy headers (NumPy format 1.0/2.0/3.0); pure and serial. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "npy.h"

/* NEP 1 / numpy.lib.format: magic, major, minor, header length (LE u16 in 1.0, LE u32 in
 * 2.0 and 3.0), then an ASCII Python dict literal padded with spaces and ended by '\n'. */
static const unsigned char magic[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };

/* Recent numpy (1.24 checked) pads the header so the first axis can grow in place to this
 * many digits; we copy it so our headers are byte-identical to np.save's. */
#define GROWTH_DIGITS 21
#define ALIGN 64

/* Longest header text quoted back in an error message. */
#define QUOTE_MAX 48

/* A byte span inside the header (no allocation: the dict is parsed in place). */
typedef struct {
    const unsigned char *p;
    size_t n;
} span;

/* Cursor over [p, end); the parser never dereferences p == end. */
typedef struct {
    const unsigned char *p, *end;
} cursor;

typedef struct {
    span descr, shape_text;
    span unknown; /* an unknown key, reported by name */
    int have_descr, have_order, have_shape;
    int fortran;
    size_t ndim;
    size_t dim[2];
} dict;

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(cursor *c)
{
    while (c->p < c->end && is_space(*c->p))
        c->p++;
}

/* Consume ch (after optional whitespace) if it is next. */
static int eat(cursor *c, unsigned char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int span_is(span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Copy s into out as printable ASCII (others become '?'), cut with "..." if long, so a
 * hostile header cannot put control bytes or an unbounded string into the message. */
static void quote(char out[QUOTE_MAX + 4], span s)
{
    size_t n = s.n > QUOTE_MAX ? QUOTE_MAX : s.n, i;
    for (i = 0; i < n; i++)
        out[i] = (s.p[i] >= 0x20 && s.p[i] < 0x7f) ? (char)s.p[i] : '?';
    if (s.n > QUOTE_MAX) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

/* A Python string literal in single or double quotes, without escapes (numpy writes none
 * in these keys and values; a backslash would mean something we do not parse). */
static int string_lit(cursor *c, span *s)
{
    unsigned char q;
    skip_ws(c);
    if (c->p == c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    q = *c->p++;
    s->p = c->p;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || *c->p == '\n')
            return 0;
        c->p++;
    }
    if (c->p == c->end)
        return 0;
    s->n = (size_t)(c->p - s->p);
    c->p++;
    return 1;
}

/* A bare identifier such as True or False. */
static int word(cursor *c, span *s)
{
    skip_ws(c);
    s->p = c->p;
    while (c->p < c->end && ((*c->p >= 'A' && *c->p <= 'Z') || (*c->p >= 'a' && *c->p <= 'z')))
        c->p++;
    s->n = (size_t)(c->p - s->p);
    return s->n > 0;
}

/* A non-negative decimal integer; Python 2 numpy wrote longs as "3L", so allow that suffix. */
static const char *integer(cursor *c, size_t *v)
{
    size_t x = 0;
    skip_ws(c);
    if (c->p < c->end && *c->p == '-')
        return "negative dimension in shape";
    if (c->p == c->end || *c->p < '0' || *c->p > '9')
        return "malformed header: shape holds a non-integer";
    /* Python int literals have no leading zeros ("020" is a SyntaxError; "00" is 0) */
    if (*c->p == '0') {
        const unsigned char *q = c->p;
        while (q < c->end && *q == '0')
            q++;
        if (q < c->end && *q >= '1' && *q <= '9')
            return "malformed header: shape has a number with a leading zero";
    }
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        size_t d = (size_t)(*c->p - '0');
        if (x > (SIZE_MAX - d) / 10)
            return "shape dimension too large";
        x = 10 * x + d;
        c->p++;
    }
    if (c->p < c->end && *c->p == 'L')
        c->p++;
    *v = x;
    return NULL;
}

/* A tuple of integers: "()", "(3,)", "(3, 4)", "(3,4,)". "(3)" is an int in Python, not
 * a tuple, so a single element needs its trailing comma. Keeps the first two dims. */
static const char *shape_tuple(cursor *c, dict *d)
{
    int comma = 0;
    skip_ws(c);
    d->shape_text.p = c->p;
    if (!eat(c, '('))
        return "malformed header: shape is not a tuple";
    d->ndim = 0;
    while (!eat(c, ')')) {
        size_t v = 0;
        const char *why;
        if (d->ndim > 0 && !comma)
            return "malformed header: expected ',' or ')' in shape";
        if ((why = integer(c, &v)) != NULL)
            return why;
        if (d->ndim < 2)
            d->dim[d->ndim] = v;
        d->ndim++;
        comma = eat(c, ',');
    }
    if (d->ndim == 1 && !comma)
        return "malformed header: shape is not a tuple";
    d->shape_text.n = (size_t)(c->p - d->shape_text.p);
    return NULL;
}

/* One "key: value" member. Returns a problem or NULL. */
static const char *member(cursor *c, dict *d)
{
    span key, v;
    if (!string_lit(c, &key))
        return "malformed header: expected a quoted key";
    if (!eat(c, ':'))
        return "malformed header: expected ':' after a key";
    if (span_is(key, "descr")) {
        if (d->have_descr++)
            return "malformed header: duplicate key 'descr'";
        skip_ws(c);
        if (c->p < c->end && *c->p == '[')
            return "unsupported dtype: a structured (record) array; save numpy.lib."
                   "recfunctions.structured_to_unstructured(a).astype('<f8') instead";
        if (!string_lit(c, &d->descr))
            return "malformed header: 'descr' is not a string";
    } else if (span_is(key, "fortran_order")) {
        if (d->have_order++)
            return "malformed header: duplicate key 'fortran_order'";
        if (!word(c, &v) || !(span_is(v, "True") || span_is(v, "False")))
            return "malformed header: 'fortran_order' is not True or False";
        d->fortran = span_is(v, "True");
    } else if (span_is(key, "shape")) {
        if (d->have_shape++)
            return "malformed header: duplicate key 'shape'";
        return shape_tuple(c, d);
    } else {
        d->unknown = key;
        return "malformed header: unknown key";
    }
    return NULL;
}

/* The dict literal: '{' members separated by ',' with an optional trailing ',' '}', then
 * only whitespace (numpy's padding and '\n'). Iterative: no recursion on hostile input. */
static const char *parse_dict(cursor *c, dict *d)
{
    const char *why;
    if (!eat(c, '{'))
        return "malformed header: does not start with '{'";
    while (!eat(c, '}')) {
        if ((why = member(c, d)) != NULL)
            return why;
        if (!eat(c, ',')) {
            if (!eat(c, '}'))
                return "malformed header: expected ',' or '}'";
            break;
        }
    }
    skip_ws(c);
    if (c->p != c->end)
        return "malformed header: unexpected text after '}'";
    if (!d->have_descr)
        return "malformed header: missing key 'descr'";
    if (!d->have_order)
        return "malformed header: missing key 'fortran_order'";
    if (!d->have_shape)
        return "malformed header: missing key 'shape'";
    return NULL;
}

static uint64_t le(const unsigned char *p, int nbytes)
{
    uint64_t v = 0;
    for (int i = nbytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Check the dict's meaning: dtype, order, 2-D; fills itemsize. */
static rrr_status check_dict(const dict *d, const char *name, size_t *itemsize, int *integer,
                             rrr_err *e)
{
    char q[QUOTE_MAX + 4];
    quote(q, d->descr);
    *integer = 0;
    if (span_is(d->descr, "<f8"))
        *itemsize = 8;
    else if (span_is(d->descr, "<f4"))
        *itemsize = 4;
    else if (span_is(d->descr, "<i8")) /* fold ids; the data readers refuse it */
        *itemsize = 8, *integer = 1;
    else if (span_is(d->descr, ">f8") || span_is(d->descr, ">f4"))
        return RRR_FAIL(e, RRR_EINVAL, "%s: big-endian data '%s' is not supported: save "
                        "arr.astype('<f8') instead", name, q);
    else
        return RRR_FAIL(e, RRR_EINVAL, "%s: unsupported dtype '%s' (need '<f8' or '<f4', or "
                        "'<i8' for fold ids): save arr.astype('<f8') instead", name, q);
    if (d->ndim != 2) {
        quote(q, d->shape_text);
        return RRR_FAIL(e, RRR_EINVAL, "%s: expected a 2-D array, got shape %s%s", name, q,
                        d->ndim == 1 ? ": for one column save arr.reshape(-1, 1)" : "");
    }
    return RRR_OK;
}

/* Local, pure. The message for a file that is not .npy, with the fix when the first bytes
 * say what it is: a .npz (zip) archive, an HDF5 file, or text such as CSV. */
static rrr_status not_npy(const unsigned char *buf, size_t len, const char *name, rrr_err *e)
{
    static const unsigned char zip[4] = { 'P', 'K', 3, 4 };
    static const unsigned char hdf5[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
    size_t k, ntext = len < 256 ? len : 256;
    if (len >= sizeof zip && memcmp(buf, zip, sizeof zip) == 0)
        return RRR_FAIL(e, RRR_EINVAL, "%s: not a .npy file (bad magic): .npz is an archive: "
                        "save each array with numpy.save", name);
    if (len >= sizeof hdf5 && memcmp(buf, hdf5, sizeof hdf5) == 0)
        return RRR_FAIL(e, RRR_EINVAL, "%s: not a .npy file (bad magic): an HDF5 file: name "
                        "its dataset as FILE.h5:/path/to/dataset (FILE ending in .h5, .hdf5 "
                        "or .he5)", name);
    for (k = 0; k < ntext && (is_space(buf[k]) || (buf[k] >= 0x20 && buf[k] < 0x7f)); k++)
        ;
    if (k == ntext)
        return RRR_FAIL(e, RRR_EINVAL, "%s: not a .npy file (bad magic): it looks like text; "
                        "rrr reads .npy and HDF5; for CSV use numpy.loadtxt + numpy.save", name);
    return RRR_FAIL(e, RRR_EINVAL, "%s: not a .npy file (bad magic): rrr reads .npy (numpy.save) "
                    "and HDF5 datasets (FILE.h5:/path)", name);
}

rrr_status rrr_npy_parse(const unsigned char *buf, size_t len, uint64_t file_size,
                         const char *name, rrr_npy_hdr *h, rrr_err *e)
{
    dict d;
    cursor c;
    const char *why;
    size_t lenbytes, itemsize = 0;
    uint64_t hlen, off, nbytes, data;

    if (file_size == 0)
        return RRR_FAIL(e, RRR_EINVAL, "%s: not a .npy file (empty file)", name);
    /* A file shorter than the magic but matching it so far is a truncated header. */
    if (len > 0 && memcmp(buf, magic, len < sizeof magic ? len : sizeof magic) != 0)
        return not_npy(buf, len, name, e);
    if (len < 8)
        return RRR_FAIL(e, RRR_EINVAL, "%s: header truncated", name);
    if (buf[7] != 0 || buf[6] < 1 || buf[6] > 3)
        return RRR_FAIL(e, RRR_EINVAL, "%s: unsupported format version %u.%u", name,
                        (unsigned)buf[6], (unsigned)buf[7]);
    lenbytes = buf[6] == 1 ? 2 : 4;
    if (len < 8 + lenbytes)
        return RRR_FAIL(e, RRR_EINVAL, "%s: header truncated", name);
    hlen = le(buf + 8, (int)lenbytes);
    off = 8 + lenbytes + hlen; /* < 2^33: cannot overflow */
    if (off > RRR_NPY_MAX_HEADER)
        return RRR_FAIL(e, RRR_EINVAL, "%s: header of %llu bytes exceeds the %zu-byte limit",
                        name, (unsigned long long)off, RRR_NPY_MAX_HEADER);
    if (off > len || off > file_size)
        return RRR_FAIL(e, RRR_EINVAL, "%s: header truncated", name);

    memset(&d, 0, sizeof d);
    c.p = buf + 8 + lenbytes;
    c.end = buf + off;
    if ((why = parse_dict(&c, &d)) != NULL) {
        char q[QUOTE_MAX + 4];
        quote(q, d.unknown);
        if (d.unknown.p != NULL)
            return RRR_FAIL(e, RRR_EINVAL, "%s: %s '%s'", name, why, q);
        return RRR_FAIL(e, RRR_EINVAL, "%s: %s", name, why);
    }
    int integer = 0;
    if (check_dict(&d, name, &itemsize, &integer, e) != RRR_OK)
        return RRR_EINVAL;

    /* nbytes = rows * cols * itemsize, which must fit in size_t and, with the header, in
     * the file: any overflow means the header cannot describe this file. */
    if ((d.dim[0] != 0 && d.dim[1] > SIZE_MAX / d.dim[0])
        || d.dim[0] * d.dim[1] > SIZE_MAX / itemsize
        || (uint64_t)(d.dim[0] * d.dim[1] * itemsize) > UINT64_MAX - off)
        return RRR_FAIL(e, RRR_EINVAL, "%s: shape (%zu, %zu) is too large", name, d.dim[0],
                        d.dim[1]);
    nbytes = (uint64_t)(d.dim[0] * d.dim[1] * itemsize);
    data = file_size - off;
    if (data < nbytes)
        return RRR_FAIL(e, RRR_EINVAL, "%s: data is %llu bytes, header says %llu (truncated?)",
                        name, (unsigned long long)data, (unsigned long long)nbytes);
    if (data > nbytes)
        return RRR_FAIL(e, RRR_EINVAL, "%s: file has %llu bytes after the data the header "
                        "describes", name, (unsigned long long)(data - nbytes));

    h->rows = d.dim[0];
    h->cols = d.dim[1];
    h->itemsize = itemsize;
    h->integer = integer;
    h->data_offset = (size_t)off;
    h->fortran = d.fortran;
    return RRR_OK;
}

size_t rrr_npy_format(char *out, size_t cap, size_t rows, size_t cols)
{
    unsigned char *buf = (unsigned char *)out;
    char dictxt[128];
    size_t n, digits = 1, hlen, pad, total;
    int k = snprintf(dictxt, sizeof dictxt,
                     "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }", rows,
                     cols);
    if (k < 0 || (size_t)k >= sizeof dictxt)
        return 0;
    n = (size_t)k;
    for (size_t r = rows; r >= 10; r /= 10)
        digits++;
    if (digits < GROWTH_DIGITS)
        n += GROWTH_DIGITS - digits;
    /* numpy's _wrap_header: hlen counts the '\n'; padlen is in [1, 64], never 0. */
    hlen = n + 1;
    pad = ALIGN - (10 + hlen) % ALIGN;
    total = 10 + hlen + pad;
    if (total > cap)
        return 0;
    memcpy(buf, magic, sizeof magic);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (unsigned char)((total - 10) & 0xff); /* < 256: at most ~120 bytes of dict */
    buf[9] = (unsigned char)((total - 10) >> 8);
    memcpy(buf + 10, dictxt, (size_t)k);
    memset(buf + 10 + k, ' ', total - 11 - (size_t)k);
    buf[total - 1] = '\n';
    return total;
}
