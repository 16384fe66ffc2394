/* tests/unit/test_npy.c: unit tests of the .npy header parser and writer (src/npy_header.c).
 *
 * Run from the repository root: data files are opened as tests/data/NAME.npy (made by
 * tests/data/make_data.py with numpy) and every .npy file in tests/data/npy-regress/.
 * Serial, no MPI: cc -Isrc -Iinclude tests/unit/test_npy.c src/npy_header.c src/status.c */
#define _POSIX_C_SOURCE 200809L /* opendir for the regression directory */

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "../test.h"

#define DATA "tests/data/"
#define FILE_MAX 8192 /* every file in tests/data is a few hundred bytes */

static unsigned char filebuf[FILE_MAX];

/* Read a whole small file into filebuf; returns its size, or (size_t)-1. */
static size_t load(const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (f == NULL)
        return (size_t)-1;
    n = fread(filebuf, 1, sizeof filebuf, f);
    if (ferror(f) || !feof(f))
        n = (size_t)-1;
    fclose(f);
    return n;
}

/* Parse as the reader does: the first min(file_size, RRR_NPY_MAX_HEADER) bytes. The bytes
 * go to an exact-size heap copy so that an over-read shows up under ASan (make SAN=1). */
static rrr_status parse_bytes(const unsigned char *b, size_t len, uint64_t file_size,
                              const char *name, rrr_npy_hdr *h, rrr_err *e)
{
    unsigned char *copy = malloc(len > 0 ? len : 1);
    rrr_status st;
    memset(e, 0, sizeof *e);
    memset(h, 0, sizeof *h);
    if (copy == NULL) {
        fprintf(stderr, "test_npy: out of memory\n");
        exit(1);
    }
    if (len > 0)
        memcpy(copy, b, len);
    st = rrr_npy_parse(copy, len, file_size, name, h, e);
    free(copy);
    return st;
}

static rrr_status parse_file(const char *path, rrr_npy_hdr *h, rrr_err *e)
{
    size_t n = load(path);
    if (n == (size_t)-1) {
        memset(e, 0, sizeof *e);
        snprintf(e->msg, sizeof e->msg, "cannot read %s", path);
        return RRR_EIO;
    }
    return parse_bytes(filebuf, n < RRR_NPY_MAX_HEADER ? n : RRR_NPY_MAX_HEADER, n, path, h, e);
}

/* A rejection: RRR_EINVAL, recorded in e, message "NAME: ..." containing want. */
static void expect_fail(rrr_status st, const rrr_err *e, const char *name, const char *want,
                        const char *label)
{
    size_t nl = strlen(name);
    CHECK(st == RRR_EINVAL && e->st == RRR_EINVAL, "%s: rejected with RRR_EINVAL", label);
    CHECK(strncmp(e->msg, name, nl) == 0 && strncmp(e->msg + nl, ": ", 2) == 0,
          "%s: message names the file: \"%s\"", label, e->msg);
    CHECK(strstr(e->msg, want) != NULL, "%s: message has \"%s\": \"%s\"", label, want, e->msg);
}

static void expect_ok(rrr_status st, const rrr_err *e, const rrr_npy_hdr *h, size_t rows,
                      size_t cols, size_t itemsize, size_t off, const char *label)
{
    CHECK(st == RRR_OK && e->st == RRR_OK, "%s: accepted (%s)", label, e->msg);
    CHECK(h->rows == rows && h->cols == cols, "%s: shape (%zu, %zu), want (%zu, %zu)", label,
          h->rows, h->cols, rows, cols);
    CHECK(h->itemsize == itemsize, "%s: itemsize %zu, want %zu", label, h->itemsize, itemsize);
    CHECK(h->data_offset == off, "%s: data_offset %zu, want %zu", label, h->data_offset, off);
}

/* ---- files written by numpy ------------------------------------------------------- */

/* Good files hold arange(rows*cols).reshape(rows, cols), so the data must decode to 0, 1,
 * 2, ... in C order, and to element (i, j) = i*cols + j at k = j*rows + i in Fortran order. */
static void check_values(const rrr_npy_hdr *h, const char *label)
{
    int ok = 1;
    for (size_t k = 0; k < h->rows * h->cols; k++) {
        size_t want = h->fortran ? (k % h->rows) * h->cols + k / h->rows : k;
        const unsigned char *p = filebuf + h->data_offset + k * h->itemsize;
        uint64_t bits = 0;
        double v;
        for (size_t b = h->itemsize; b-- > 0;)
            bits = (bits << 8) | p[b];
        if (h->itemsize == 8) {
            memcpy(&v, &bits, 8);
        } else {
            uint32_t b32 = (uint32_t)bits;
            float f;
            memcpy(&f, &b32, 4);
            v = (double)f;
        }
        ok = ok && v == (double)want;
    }
    CHECK(ok, "%s: data decodes to arange", label);
}

static void test_good_files(void)
{
    static const struct {
        const char *file;
        size_t rows, cols, itemsize, off;
    } good[] = {
        { "good_f8_v1.npy", 3, 4, 8, 128 },    { "good_f4_v1.npy", 3, 4, 4, 128 },
        { "good_f8_v2.npy", 3, 4, 8, 128 },    { "good_f8_v3.npy", 3, 4, 8, 128 },
        { "good_zero_rows.npy", 0, 5, 8, 128 }, { "good_one_col.npy", 7, 1, 8, 128 },
        { "good_handwritten.npy", 3, 4, 8, 128 }, { "good_fortran.npy", 3, 4, 8, 128 },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char path[256];
        rrr_npy_hdr h;
        rrr_err e;
        snprintf(path, sizeof path, DATA "%s", good[i].file);
        rrr_status st = parse_file(path, &h, &e);
        expect_ok(st, &e, &h, good[i].rows, good[i].cols, good[i].itemsize, good[i].off, path);
        if (st == RRR_OK)
            check_values(&h, path);
    }
}

static void test_bad_files(void)
{
    static const struct {
        const char *file, *want;
    } bad[] = {
        { "bad_bigendian.npy", "big-endian data '>f8' is not supported: save arr.astype('<f8')" },
        { "bad_1d.npy", "expected a 2-D array, got shape (3,): for one column save "
                        "arr.reshape(-1, 1)" },
        { "bad_3d.npy", "expected a 2-D array, got shape (2, 3, 4)" },
        { "bad_int32.npy", "unsupported dtype '<i4' (need '<f8' or '<f4', or '<i8' for fold ids)" },
        { "bad_truncated.npy", "data is 80 bytes, header says 96 (truncated?)" },
        { "bad_trailing.npy", "file has 16 bytes after the data the header describes" },
        { "bad_magic.npy", "not a .npy file (bad magic)" },
        { "bad_version.npy", "unsupported format version 4.0" },
        { "bad_malformed.npy", "malformed header: " },
        { "bad_header_truncated.npy", "header truncated" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[256];
        rrr_npy_hdr h;
        rrr_err e;
        snprintf(path, sizeof path, DATA "%s", bad[i].file);
        rrr_status st = parse_file(path, &h, &e);
        CHECK(st != RRR_EIO, "%s: readable", path);
        expect_fail(st, &e, path, bad[i].want, path);
    }
}

/* Everything rrr_npy_parse accepted must describe the file exactly. */
static void check_invariants(const rrr_npy_hdr *h, size_t len, uint64_t file_size,
                             const char *label)
{
    CHECK(h->itemsize == 4 || h->itemsize == 8, "%s: itemsize", label);
    CHECK(h->data_offset <= len && h->data_offset <= file_size, "%s: data_offset", label);
    CHECK(h->cols == 0 || h->rows <= SIZE_MAX / h->cols, "%s: rows*cols fits", label);
    CHECK((uint64_t)(h->rows * h->cols * h->itemsize) == file_size - h->data_offset,
          "%s: size matches", label);
}

/* Fuzzer finds: whatever the verdict, no crash (ASan) and a consistent answer. */
static void test_regressions(void)
{
    const char *dir = DATA "npy-regress";
    DIR *d = opendir(dir);
    struct dirent *ent;
    if (d == NULL)
        return; /* no regressions recorded yet */
    while ((ent = readdir(d)) != NULL) {
        char path[512];
        rrr_npy_hdr h;
        rrr_err e;
        size_t n;
        size_t nl = strlen(ent->d_name);
        if (nl < 4 || strcmp(ent->d_name + nl - 4, ".npy") != 0)
            continue; /* README.md and the like */
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        n = load(path);
        if (!CHECK(n != (size_t)-1, "%s: readable", path))
            continue;
        rrr_status st = parse_bytes(filebuf, n, n, path, &h, &e);
        if (st == RRR_OK)
            check_invariants(&h, n, n, path);
        else
            expect_fail(st, &e, path, "", path);
    }
    closedir(d);
}

/* ---- hand-built headers ----------------------------------------------------------- */

static unsigned char img[4096];

/* Build magic + version + length + dict padded with spaces and '\n' to a multiple of 64,
 * as numpy does; return the header length (the data offset). */
static size_t build(int major, int minor, const char *dict)
{
    size_t lenbytes = major == 1 ? 2 : 4, n = strlen(dict);
    size_t total = 8 + lenbytes + n + 1;
    total += (64 - total % 64) % 64;
    memcpy(img, "\x93NUMPY", 6);
    img[6] = (unsigned char)major;
    img[7] = (unsigned char)minor;
    for (size_t b = 0; b < lenbytes; b++)
        img[8 + b] = (unsigned char)((total - 8 - lenbytes) >> (8 * b));
    memcpy(img + 8 + lenbytes, dict, n);
    memset(img + 8 + lenbytes + n, ' ', total - 9 - lenbytes - n);
    img[total - 1] = '\n';
    return total;
}

/* Parse a v1.0 header whose file has `data` bytes after it. The parser needs only the
 * header bytes, so that is all we pass (a shorter len than the reader's is allowed). */
static rrr_status try_dict(const char *dict, uint64_t data, rrr_npy_hdr *h, rrr_err *e)
{
    size_t off = build(1, 0, dict);
    return parse_bytes(img, off, off + data, "X.npy", h, e);
}

#define D(descr, order, shape) \
    "{'descr': '" descr "', 'fortran_order': " order ", 'shape': " shape ", }"

static void test_dicts_accepted(void)
{
    static const struct {
        const char *dict;
        size_t rows, cols, itemsize;
    } ok[] = {
        { D("<f8", "False", "(3, 4)"), 3, 4, 8 },
        { D("<f4", "False", "(3, 4)"), 3, 4, 4 },
        { D("<f8", "False", "(3,4,)"), 3, 4, 8 },
        { D("<f8", "False", "(3L, 4L)"), 3, 4, 8 }, /* Python 2 numpy wrote longs */
        { D("<f8", "False", "(0, 7)"), 0, 7, 8 },
        { D("<f8", "False", "(5, 0)"), 5, 0, 8 },
        { D("<f8", "False", "( 2 , 3 , )"), 2, 3, 8 },
        { D("<f8", "True", "(3, 4)"), 3, 4, 8 },
        { D("<f4", "True", "(3, 4)"), 3, 4, 4 },
        { "{'descr':'<f8','fortran_order':False,'shape':(3,4)}", 3, 4, 8 },
        { "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (3, 4)}", 3, 4, 8 },
        { "{'shape': (3, 4), 'fortran_order': False, 'descr': '<f8'}", 3, 4, 8 },
        { "{'fortran_order': False, 'shape': (3, 4), 'descr': '<f4',}", 3, 4, 4 },
        { "  {\t'descr' :\n'<f8' , 'fortran_order'\r\n: False ,'shape':(3,4) , }  ", 3, 4, 8 },
        { D("<f8", "False", "(18446744073709551615, 0)"), SIZE_MAX, 0, 8 },
        { D("<i8", "False", "(3, 1)"), 3, 1, 8 }, /* fold ids; the data readers refuse it */
        { D("<f8", "False", "(00, 3)"), 0, 3, 8 }, /* "00" is a Python int literal (0) */
        { D("<f8", "False", "(3, 0)"), 3, 0, 8 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        rrr_npy_hdr h;
        rrr_err e;
        size_t off = build(1, 0, ok[i].dict);
        uint64_t data = (uint64_t)(ok[i].rows * ok[i].cols * ok[i].itemsize);
        rrr_status st = try_dict(ok[i].dict, data, &h, &e);
        expect_ok(st, &e, &h, ok[i].rows, ok[i].cols, ok[i].itemsize, off, ok[i].dict);
        CHECK(h.integer == (strstr(ok[i].dict, "<i8") != NULL), "%s: integer flag",
              ok[i].dict);
    }
}

static void test_dicts_rejected(void)
{
    static const struct {
        const char *dict, *want;
    } bad[] = {
        /* shape */
        { D("<f8", "False", "(3,)"), "expected a 2-D array, got shape (3,)" },
        { D("<f8", "False", "()"), "expected a 2-D array, got shape ()" },
        { D("<f8", "False", "(2, 3, 4)"), "expected a 2-D array, got shape (2, 3, 4)" },
        { D("<f8", "False", "(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)"),
          "got shape (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1..." },
        { D("<f8", "False", "(-3, 4)"), "negative dimension in shape" },
        { D("<f8", "False", "(3, -4)"), "negative dimension in shape" },
        { D("<f8", "False", "(a, 4)"), "malformed header: shape holds a non-integer" },
        { D("<f8", "False", "(3.0, 4)"), "malformed header: expected ',' or ')' in shape" },
        { D("<f8", "False", "(3 4)"), "malformed header: expected ',' or ')' in shape" },
        { D("<f8", "False", "(3, 4"), "malformed header" },
        { D("<f8", "False", "(3,,4)"), "malformed header: shape holds a non-integer" },
        { D("<f8", "False", "(3)"), "malformed header: shape is not a tuple" },
        { D("<f8", "False", "[3, 4]"), "malformed header: shape is not a tuple" },
        { D("<f8", "False", "3"), "malformed header: shape is not a tuple" },
        { D("<f8", "False", "(02000, 020)"), "leading zero" }, /* a SyntaxError in Python */
        { D("<f8", "False", "(3, 04)"), "leading zero" },
        { D("<f8", "False", "(003, 4)"), "leading zero" },
        { D("<f8", "False", "(99999999999999999999999, 1)"), "shape dimension too large" },
        { D("<f8", "False", "(18446744073709551616, 1)"), "shape dimension too large" },
        { D("<f8", "False", "(4294967296, 4294967296)"), "shape (4294967296, 4294967296) is too large" },
        { D("<f8", "False", "(2305843009213693952, 1)"), "is too large" }, /* 2^61 * 8 */
        { D("<f4", "False", "(4611686018427387904, 1)"), "is too large" }, /* 2^62 * 4 */
        /* dtype and order */
        { D(">f8", "False", "(3, 4)"), "big-endian data '>f8' is not supported" },
        { D(">f4", "False", "(3, 4)"), "big-endian data '>f4' is not supported" },
        { D("<i4", "False", "(3, 4)"), "unsupported dtype '<i4' (need '<f8' or '<f4', or '<i8' "
                                       "for fold ids): save arr.astype('<f8') instead" },
        { D("<d", "False", "(3, 4)"), "unsupported dtype '<d'" },
        { D("|u1", "False", "(3, 4)"), "unsupported dtype '|u1'" },
        { D("<f8 ", "False", "(3, 4)"), "unsupported dtype '<f8 '" },
        { D("", "False", "(3, 4)"), "unsupported dtype ''" },
        { D("<f8", "'False'", "(3, 4)"), "'fortran_order' is not True or False" },
        { D("<f8", "0", "(3, 4)"), "'fortran_order' is not True or False" },
        { D("<f8", "false", "(3, 4)"), "'fortran_order' is not True or False" },
        { D("<f8", "Falsey", "(3, 4)"), "'fortran_order' is not True or False" },
        { "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3, 4), }",
          "unsupported dtype: a structured (record) array; save numpy.lib.recfunctions."
          "structured_to_unstructured(a).astype('<f8') instead" },
        { "{'descr': 8, 'fortran_order': False, 'shape': (3, 4), }", "'descr' is not a string" },
        /* keys */
        { "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), 'foo': 1}",
          "malformed header: unknown key 'foo'" },
        { "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)}",
          "malformed header: duplicate key 'descr'" },
        { "{'shape': (3, 4), 'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)}",
          "malformed header: duplicate key 'shape'" },
        { "{'fortran_order': False, 'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)}",
          "malformed header: duplicate key 'fortran_order'" },
        { "{'fortran_order': False, 'shape': (3, 4)}", "malformed header: missing key 'descr'" },
        { "{'descr': '<f8', 'shape': (3, 4)}", "malformed header: missing key 'fortran_order'" },
        { "{'descr': '<f8', 'fortran_order': False}", "malformed header: missing key 'shape'" },
        { "{}", "malformed header: missing key 'descr'" },
        { "{'Descr': '<f8', 'fortran_order': False, 'shape': (3, 4)}", "unknown key 'Descr'" },
        /* syntax */
        { "", "malformed header: does not start with '{'" },
        { "'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)",
          "malformed header: does not start with '{'" },
        { "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)",
          "malformed header: expected ',' or '}'" },
        { "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4) 'x'}",
          "malformed header: expected ',' or '}'" },
        { "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)}}",
          "malformed header: unexpected text after '}'" },
        { "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)} x",
          "malformed header: unexpected text after '}'" },
        { "{,}", "malformed header: expected a quoted key" },
        { "{'descr': '<f8',, 'fortran_order': False, 'shape': (3, 4)}",
          "malformed header: expected a quoted key" },
        { "{'descr' '<f8', 'fortran_order': False, 'shape': (3, 4)}",
          "malformed header: expected ':' after a key" },
        { "{descr: '<f8', 'fortran_order': False, 'shape': (3, 4)}",
          "malformed header: expected a quoted key" },
        { "{'descr\": '<f8', 'fortran_order': False, 'shape': (3, 4)}", "malformed header" },
        { "{'descr': '<f8\", 'fortran_order': False, 'shape': (3, 4)}", "malformed header" },
        { "{'descr': '<f\\8', 'fortran_order': False, 'shape': (3, 4)}",
          "malformed header: 'descr' is not a string" },
        { "{'descr': '<f8', 'fortran_order': False, 'sh\nape': (3, 4)}",
          "malformed header: expected a quoted key" },
        { "{'de\x01scr': '<f8'}", "unknown key 'de?scr'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rrr_npy_hdr h;
        rrr_err e;
        rrr_status st = try_dict(bad[i].dict, 96, &h, &e);
        expect_fail(st, &e, "X.npy", bad[i].want, bad[i].dict);
    }
}

/* A NUL inside the header cannot be written with a C string literal. */
static void test_nul_in_header(void)
{
    rrr_npy_hdr h;
    rrr_err e;
    size_t off = build(1, 0, D("<f8", "False", "(3, 4)"));
    img[off - 2] = '\0'; /* in the padding */
    expect_fail(parse_bytes(img, off, off + 96, "X.npy", &h, &e), &e, "X.npy",
                "unexpected text after '}'", "NUL in padding");
    off = build(1, 0, D("<f8", "False", "(3, 4)"));
    img[10 + 12] = '\0'; /* the 'f' of '<f8' */
    expect_fail(parse_bytes(img, off, off + 96, "X.npy", &h, &e), &e, "X.npy",
                "unsupported dtype '<?8' (need", "NUL in descr");
}

static void test_versions(void)
{
    const char *dict = D("<f8", "False", "(3, 4)");
    rrr_npy_hdr h;
    rrr_err e;
    size_t off;
    static const int badver[][2] = { { 0, 0 }, { 1, 1 }, { 2, 1 }, { 4, 0 }, { 255, 255 } };

    for (int major = 1; major <= 3; major++) {
        char label[32];
        snprintf(label, sizeof label, "version %d.0", major);
        off = build(major, 0, dict);
        expect_ok(parse_bytes(img, off, off + 96, "X.npy", &h, &e), &e, &h, 3, 4, 8, off, label);
    }
    for (size_t i = 0; i < sizeof badver / sizeof badver[0]; i++) {
        char want[64];
        off = build(1, 0, dict);
        img[6] = (unsigned char)badver[i][0];
        img[7] = (unsigned char)badver[i][1];
        snprintf(want, sizeof want, "unsupported format version %d.%d", badver[i][0],
                 badver[i][1]);
        expect_fail(parse_bytes(img, off, off + 96, "X.npy", &h, &e), &e, "X.npy", want, want);
    }

    /* Header length fields: v1's 2 bytes cannot exceed the limit; v2's 4 bytes can. */
    off = build(2, 0, dict);
    memcpy(img + 8, "\xff\xff\xff\xff", 4);
    expect_fail(parse_bytes(img, off, (uint64_t)1 << 40, "X.npy", &h, &e), &e, "X.npy",
                "exceeds the 1048576-byte limit", "v2 length 2^32-1");
    {
        size_t hl = RRR_NPY_MAX_HEADER - 12 + 1; /* one byte over the limit */
        for (int b = 0; b < 4; b++)
            img[8 + b] = (unsigned char)(hl >> (8 * b));
        expect_fail(parse_bytes(img, off, (uint64_t)1 << 40, "X.npy", &h, &e), &e, "X.npy",
                    "exceeds", "v2 length just over the limit");
        hl--; /* at the limit: acceptable length, but this buffer is only off bytes */
        for (int b = 0; b < 4; b++)
            img[8 + b] = (unsigned char)(hl >> (8 * b));
        expect_fail(parse_bytes(img, off, (uint64_t)1 << 40, "X.npy", &h, &e), &e, "X.npy",
                    "header truncated", "v2 length at the limit, short buffer");
    }
    off = build(1, 0, dict);
    img[8] = 0xff;
    img[9] = 0xff;
    expect_fail(parse_bytes(img, off, off + 96, "X.npy", &h, &e), &e, "X.npy",
                "header truncated", "v1 length beyond the buffer");
    off = build(3, 0, dict);
    img[8] = (unsigned char)(img[8] - 1); /* cut the '\n': still valid, only spaces follow */
    expect_ok(parse_bytes(img, off, off - 1 + 96, "X.npy", &h, &e), &e, &h, 3, 4, 8, off - 1,
              "header without its final newline");
    off = build(1, 0, dict);
    img[8] = 20; /* the length cuts the dict short */
    expect_fail(parse_bytes(img, off, off + 96, "X.npy", &h, &e), &e, "X.npy",
                "malformed header", "length cuts the dict");
}

/* Every prefix shorter than the header is "header truncated" (or a magic mismatch for
 * none), whether the file is short or the caller passed too few bytes. */
static void test_prefixes(void)
{
    rrr_npy_hdr h;
    rrr_err e;
    size_t off = build(2, 0, D("<f4", "False", "(3, 4)"));
    int all = 1;
    for (size_t n = 0; n < off; n++) {
        rrr_status st = parse_bytes(img, n, off + 48, "X.npy", &h, &e);
        all = all && st == RRR_EINVAL && strstr(e.msg, "header truncated") != NULL;
        st = parse_bytes(img, n, n, "X.npy", &h, &e); /* the file itself is that short */
        all = all && st == RRR_EINVAL
              && (n == 0 ? strstr(e.msg, "(empty file)") : strstr(e.msg, "header truncated"))
                     != NULL;
    }
    CHECK(all, "every prefix of the header is reported as truncated");
    expect_ok(parse_bytes(img, off, off + 48, "X.npy", &h, &e), &e, &h, 3, 4, 4, off,
              "exactly the header bytes");
    expect_fail(parse_bytes((const unsigned char *)"\x93NUMPZ", 6, 1000, "X.npy", &h, &e), &e,
                "X.npy", "not a .npy file (bad magic)", "bad magic in 6 bytes");
    expect_fail(parse_bytes((const unsigned char *)"PK", 2, 2, "X.npy", &h, &e), &e, "X.npy",
                "not a .npy file (bad magic)", "short file, bad magic");
    expect_fail(parse_bytes((const unsigned char *)"\x93NU", 3, 3, "X.npy", &h, &e), &e,
                "X.npy", "header truncated", "short file, magic so far");
}

static void test_sizes(void)
{
    const char *f8 = D("<f8", "False", "(3, 4)"), *zero = D("<f8", "False", "(0, 4)");
    rrr_npy_hdr h;
    rrr_err e;
    expect_fail(try_dict(f8, 95, &h, &e), &e, "X.npy",
                "data is 95 bytes, header says 96 (truncated?)", "one byte short");
    expect_fail(try_dict(f8, 0, &h, &e), &e, "X.npy",
                "data is 0 bytes, header says 96 (truncated?)", "no data");
    expect_fail(try_dict(f8, 97, &h, &e), &e, "X.npy",
                "file has 1 bytes after the data the header describes", "one byte long");
    expect_fail(try_dict(zero, 8, &h, &e), &e, "X.npy",
                "file has 8 bytes after the data the header describes", "zero rows with data");
    expect_fail(try_dict(f8, UINT64_MAX - 1024, &h, &e), &e, "X.npy", "bytes after the data",
                "huge file");
    expect_ok(try_dict(zero, 0, &h, &e), &e, &h, 0, 4, 8, 128, "zero rows, no data");
    /* A product near 2^64 that still fits with its 128-byte header: 2^64 - 16 bytes. */
    expect_ok(try_dict(D("<f8", "False", "(1152921504606846967, 2)"),
                       (uint64_t)1152921504606846967u * 16, &h, &e),
              &e, &h, 1152921504606846967u, 2, 8, 128, "2^64 - 144 data bytes");
    {
        size_t off = build(1, 0, D("<f8", "False", "(2305843009213693951, 1)"));
        expect_fail(parse_bytes(img, off, UINT64_MAX, "X.npy", &h, &e), &e, "X.npy",
                    "is too large", "data offset + 2^64 - 8 bytes overflows");
    }
}

/* rrr_err keeps the first failure only. */
static void test_first_error_kept(void)
{
    rrr_npy_hdr h;
    rrr_err e;
    size_t off = build(1, 0, D("<i4", "False", "(3, 4)"));
    unsigned char *copy = malloc(off);
    memset(&e, 0, sizeof e);
    memcpy(copy, img, off);
    rrr_npy_parse(copy, off, off + 96, "A.npy", &h, &e);
    rrr_npy_parse(copy, off, off + 96, "B.npy", &h, &e);
    free(copy);
    CHECK(strncmp(e.msg, "A.npy: ", 7) == 0, "second failure does not overwrite the first");
}

/* ---- writer ----------------------------------------------------------------------- */

static void test_format(void)
{
    static const size_t shapes[][2] = {
        { 0, 1 }, { 1, 1 }, { 3, 4 }, { 0, 5 }, { 7, 1 }, { 1, 1000 }, { 123456789, 3 },
        { 1000000000, 1000000000 }, { 999999999999999999u, 1 }, { 1, 999999999999999999u },
        { SIZE_MAX, SIZE_MAX }, { 1u << 30, 1u << 30 }, { 100000, 0 },
    };
    char buf[512];
    rrr_npy_hdr h;
    rrr_err e;

    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        size_t r = shapes[i][0], c = shapes[i][1];
        size_t n = rrr_npy_format(buf, sizeof buf, r, c);
        char label[96];
        snprintf(label, sizeof label, "format (%zu, %zu)", r, c);
        CHECK(n > 0 && n % 64 == 0, "%s: length %zu is a multiple of 64", label, n);
        if (n == 0)
            continue;
        CHECK(buf[n - 1] == '\n' && (unsigned char)buf[8] + 256u * (unsigned char)buf[9] == n - 10,
              "%s: newline and length field", label);
        CHECK(rrr_npy_format(buf, n - 1, r, c) == 0, "%s: cap one short gives 0", label);
        CHECK(rrr_npy_format(buf, n, r, c) == n, "%s: cap exact", label);
        if (c != 0 && r > (UINT64_MAX - n) / 8 / c) {
            expect_fail(parse_bytes((unsigned char *)buf, n, UINT64_MAX, "X.npy", &h, &e), &e,
                        "X.npy", "is too large", label);
        } else {
            uint64_t fs = n + (uint64_t)r * c * 8;
            expect_ok(parse_bytes((unsigned char *)buf, n, fs, "X.npy", &h, &e), &e, &h, r, c,
                      8, n, label);
        }
    }
    CHECK(rrr_npy_format(buf, 0, 3, 4) == 0, "format into cap 0 gives 0");

    /* Byte-identical to numpy 1.24's np.save for the same shape. */
    static const struct {
        const char *file;
        size_t rows, cols;
    } same[] = { { "good_f8_v1.npy", 3, 4 }, { "good_zero_rows.npy", 0, 5 },
                 { "good_one_col.npy", 7, 1 } };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, DATA "%s", same[i].file);
        size_t fn = load(path), n = rrr_npy_format(buf, sizeof buf, same[i].rows, same[i].cols);
        CHECK(fn != (size_t)-1 && n > 0 && n <= fn && memcmp(buf, filebuf, n) == 0,
              "%s: rrr_npy_format matches numpy's header", path);
    }
}

/* The order flag: Fortran-order files are read (each rank's rows as a strided subarray). */
static void test_order_flag(void)
{
    rrr_npy_hdr h;
    rrr_err e;
    try_dict(D("<f8", "True", "(3, 4)"), 96, &h, &e);
    CHECK(h.fortran == 1, "fortran_order True sets fortran");
    try_dict(D("<f8", "False", "(3, 4)"), 96, &h, &e);
    CHECK(h.fortran == 0, "fortran_order False clears fortran");
}

/* Files that are not .npy: the message says what they look like and how to convert. */
static void test_not_npy(void)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *want;
    } files[] = {
        { "PK\x03\x04\x14\0\0\0\0\0", 10, ".npz is an archive: save each array with numpy.save" },
        { "\x89HDF\r\n\x1a\n\0\0\0\0", 12, "an HDF5 file: name its dataset as FILE.h5:/path" },
        { "1.0,2.0,3.0\n4.0,5.0,6.0\n", 24, "for CSV use numpy.loadtxt + numpy.save" },
        { "\x80\x04\x95\x10\0\0\0", 7, "rrr reads .npy (numpy.save) and HDF5 datasets" },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        rrr_npy_hdr h;
        rrr_err e;
        rrr_status st = parse_bytes((const unsigned char *)files[i].bytes, files[i].len,
                                    files[i].len, "F.npy", &h, &e);
        expect_fail(st, &e, "F.npy", "not a .npy file (bad magic)", files[i].want);
        expect_fail(st, &e, "F.npy", files[i].want, files[i].want);
    }
}

int main(void)
{
    test_good_files();
    test_bad_files();
    test_regressions();
    test_dicts_accepted();
    test_dicts_rejected();
    test_nul_in_header();
    test_versions();
    test_prefixes();
    test_sizes();
    test_first_error_kept();
    test_format();
    test_order_flag();
    test_not_npy();
    return test_summary();
}
