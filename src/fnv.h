/* src/fnv.h: FNV-1a 64, the checksum of checkpoints and of a model's files (serial). Not
 * cryptographic: it detects torn, mixed and corrupted files, not a forger. */
#ifndef RRR_FNV_H
#define RRR_FNV_H

#include <stddef.h>
#include <stdint.h>

#define RRR_FNV_INIT 0xcbf29ce484222325ULL

/* Local, pure. The running hash h extended by len bytes of buf. */
static inline uint64_t rrr_fnv1a(uint64_t h, const void *buf, size_t len)
{
    const unsigned char *c = buf;
    for (size_t i = 0; i < len; i++)
        h = (h ^ c[i]) * 0x100000001b3ULL;
    return h;
}

#endif
