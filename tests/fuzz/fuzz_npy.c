/* tests/fuzz/fuzz_npy.c: libFuzzer target for the .npy header parser and writer.
 *
 * Build and run from the repository root (seed corpus: tests/fuzz/corpus/, the headers no test file has, and tests/data/):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Iinclude \
 *       tests/fuzz/fuzz_npy.c src/npy_header.c src/status.c -o /tmp/fuzz_npy
 *   mkdir -p /tmp/npy-corpus && /tmp/fuzz_npy /tmp/npy-corpus tests/fuzz/corpus tests/data -max_total_time=600
 * A crash or abort() leaves crash-<sha1> in the current directory; once fixed, copy it to
 * tests/data/npy-regress/crash-<sha1>.npy (tests/unit/test_npy.c replays every .npy there). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What an accepted header promises (core.h), checked independently of the parser. */
static void check(rrr_status st, const rrr_npy_hdr *h, const rrr_err *e, size_t len,
                  uint64_t file_size)
{
    uint64_t n;
    if (st != RRR_OK) {
        /* A rejection is RRR_EINVAL with a message "F.npy: ...". */
        if (st != RRR_EINVAL || e->st != RRR_EINVAL || strncmp(e->msg, "F.npy: ", 7) != 0)
            abort();
        return;
    }
    if (e->st != RRR_OK || (h->itemsize != 4 && h->itemsize != 8))
        abort();
    if (h->data_offset > len || h->data_offset > file_size || h->data_offset < 10)
        abort();
    if (__builtin_mul_overflow((uint64_t)h->rows, (uint64_t)h->cols, &n)
        || __builtin_mul_overflow(n, (uint64_t)h->itemsize, &n)
        || __builtin_add_overflow(n, (uint64_t)h->data_offset, &n) || n != file_size)
        abort();
}

static rrr_status parse(const uint8_t *buf, size_t len, uint64_t file_size, rrr_npy_hdr *h,
                        rrr_err *e)
{
    memset(h, 0, sizeof *h);
    memset(e, 0, sizeof *e);
    return rrr_npy_parse(buf, len, file_size, "F.npy", h, e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rrr_npy_hdr h;
    rrr_err e;
    uint64_t fs;
    uint8_t *copy;

    /* 1. The input is the whole file. Parse an exact-size heap copy so an over-read of
     * buf[len-1] trips ASan even where libFuzzer's buffer would have slack. */
    copy = malloc(size > 0 ? size : 1);
    if (copy == NULL)
        return 0;
    if (size > 0)
        memcpy(copy, data, size);
    check(parse(copy, size, size, &h, &e), &h, &e, size, size);

    /* 2. The input minus its last 8 bytes is a prefix of a file whose size those bytes give
     * (LE), as when the reader passes only the first RRR_NPY_MAX_HEADER bytes of a big file.
     * Exercises the size and overflow checks with arbitrary 64-bit sizes. */
    if (size >= 8) {
        size_t len = size - 8;
        fs = 0;
        for (int b = 7; b >= 0; b--)
            fs = (fs << 8) | data[len + (size_t)b];
        if (fs >= len)
            check(parse(copy, len, fs, &h, &e), &h, &e, len, fs);
    }
    free(copy);

    /* 3. Round trip: rrr_npy_format's header for a fuzzed shape parses back to that shape. */
    if (size >= 16) {
        char hdr[256];
        size_t r = 0, c = 0, n;
        uint64_t nbytes;
        memcpy(&r, data, sizeof r < 8 ? sizeof r : 8);
        memcpy(&c, data + 8, sizeof c < 8 ? sizeof c : 8);
        n = rrr_npy_format(hdr, sizeof hdr, r, c);
        if (n == 0 || n % 64 != 0 || hdr[n - 1] != '\n')
            abort();
        if (!__builtin_mul_overflow((uint64_t)r, (uint64_t)c, &nbytes)
            && !__builtin_mul_overflow(nbytes, (uint64_t)8, &nbytes)
            && !__builtin_add_overflow(nbytes, (uint64_t)n, &fs)) {
            rrr_status st = parse((const uint8_t *)hdr, n, fs, &h, &e);
            if (st != RRR_OK || h.rows != r || h.cols != c || h.itemsize != 8
                || h.data_offset != n)
                abort();
        }
    }
    return 0;
}
