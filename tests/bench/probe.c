/* tests/bench/probe.c: machine probe for rrr -- memory bandwidth, DGEMM/DSYRK rates at
 * the solvers' shapes, and MPI_Allreduce latency/bandwidth, at whatever np it runs with.
 *
 * Build: make probe (-> build/probe)
 * Run (as root add OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1):
 *   OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX mpirun -np 2 build/probe --json p.json
 *   build/probe --quick                 # small sizes, a few seconds (smoke test)
 * Options (defaults in brackets):
 *   --stream-n N      doubles per array per rank for triad/sum, and for "overlap" (a
 *                     streamed FMA kernel at gd's 5 flop/byte against the read alone and
 *                     its flops in cache) [2^26 = 512 MiB/array]
 *   --square N        square DGEMM N x N x N [2000]
 *   --ts M,K,N        tall-skinny DGEMM, X (M x K, row-major) times U (K x N) and
 *                     X^T R with R (M x N) [4096,500,10]
 *   --panel P,NB,D    panel DGEMM update C(P x D) += A(P x NB) B(NB x D) [2000,64,2000]
 *   --syrk N,P        DSYRK X^T X, X N x P split in row blocks over the ranks [20000,2000]
 *   --pass P,Q,D[,NB] the BLAS calls of one row panel of rrr's gd passes (src/kernels.c:
 *                     pass G then pass B on an NB-row panel of X and Y, NB default 64),
 *                     repeated on one panel that stays in cache: the compute ceiling of a
 *                     gd iteration at these shapes, in GFLOP/s; then the Gram pass of the
 *                     cross-product form (record "gram") [off; on with --only pass]
 *   --allreduce-sizes B1,B2,...  message sizes in bytes (multiples of 8) [8,65536,1048576,8388608]
 *   --repeats R       timed repeats after one warm-up, R >= 5 [5]
 *   --only LIST       subset of stream,gemm,syrk,pass,allreduce [all but pass; pass
 *                     runs when --pass is given]
 *   --corename        print the OpenBLAS kernel (openblas_get_corename) and exit
 *   --quick           small sizes: stream 2^22, square 500, panel 500,64,500, syrk 4000,500
 *                     (smoke test only: 2^22-double arrays partly fit in cache)
 *   --json FILE       rank 0 writes every figure as one JSON object (atomically)
 *   --tag NAME        suffix for the record names (e.g. gemm_ts_xu_tall), to merge runs
 * Output: human-readable lines, and one machine-readable line per measurement on stdout,
 *   probe=NAME np=.. threads=.. core=.. <sizes> reps=.. inner=.. t_min=.. t_median=.. t_max=..
 *   <rate>_best=.. <rate>_median=.. <rate>_worst=..
 * Timing: every repeat starts after an MPI_Barrier; its time is the max over ranks (HPL).
 * A repeat runs the kernel `inner` times, inner chosen from the warm-up so that a repeat
 * takes >= 20 ms (far above MPI_Wtick); reported times are per kernel call.
 * Rates are aggregate over all ranks (every rank runs the kernel at once) unless the key
 * says per_rank. OpenBLAS picks its kernel before main(): set OPENBLAS_CORETYPE in the
 * environment (README "Kernel"); this probe reports, never changes, it.
 * Exit codes: 0 ok, 1 out of memory / MPI failure, 2 bad arguments, 3 cannot write --json. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_REPEATS 1000
#define MAX_RECORDS 64
#define MAX_FIELDS 24
#define MAX_SIZES 16
#define TARGET_REPEAT_SECONDS 0.02

/* ---------- results: one record per measurement, printed as key=value and JSON ---------- */

typedef struct {
    char key[40];
    double val;
    int is_int;
} field;

typedef struct {
    char name[48];
    int nfield;
    field f[MAX_FIELDS];
} record;

static record g_rec[MAX_RECORDS];
static int g_nrec;
static int g_rank, g_np;
static char g_core[64];
static int g_threads;
static char g_tag[24]; /* --tag: appended to record names as _TAG */

static record *rec_new(const char *name)
{
    if (g_nrec == MAX_RECORDS) {
        fprintf(stderr, "probe: too many records\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    record *r = &g_rec[g_nrec++];
    memset(r, 0, sizeof *r);
    if (g_tag[0])
        snprintf(r->name, sizeof r->name, "%s_%s", name, g_tag);
    else
        snprintf(r->name, sizeof r->name, "%s", name);
    return r;
}

static void rec_add(record *r, const char *key, double val, int is_int)
{
    if (r->nfield == MAX_FIELDS) return;
    field *f = &r->f[r->nfield++];
    snprintf(f->key, sizeof f->key, "%s", key);
    f->val = val;
    f->is_int = is_int;
}

static void rec_print(const record *r)
{
    if (g_rank != 0) return;
    printf("probe=%s np=%d threads=%d core=%s", r->name, g_np, g_threads, g_core);
    for (int i = 0; i < r->nfield; i++) {
        if (r->f[i].is_int)
            printf(" %s=%.0f", r->f[i].key, r->f[i].val);
        else
            printf(" %s=%.6g", r->f[i].key, r->f[i].val);
    }
    printf("\n");
    fflush(stdout);
}

/* ---------- timing ---------- */

typedef void (*kernel_fn)(void *arg);

typedef struct {
    int reps, inner;
    double t[MAX_REPEATS]; /* seconds per kernel call, max over ranks */
    double tmin, tmed, tmax;
} timing;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One warm-up call, then reps timed repeats of `inner` calls each. Collective. */
static void measure(kernel_fn fn, void *arg, int reps, timing *tm)
{
    double t0, dt, dtmax;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    fn(arg);
    dt = MPI_Wtime() - t0;
    MPI_Allreduce(&dt, &dtmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    /* same on every rank, since dtmax is */
    long inner = 1;
    if (dtmax < TARGET_REPEAT_SECONDS)
        inner = (long)ceil(TARGET_REPEAT_SECONDS / (dtmax > 1e-9 ? dtmax : 1e-9));
    if (inner > 1000000) inner = 1000000;
    tm->reps = reps;
    tm->inner = (int)inner;
    for (int r = 0; r < reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        for (long i = 0; i < inner; i++) fn(arg);
        dt = (MPI_Wtime() - t0) / (double)inner;
        MPI_Allreduce(&dt, &dtmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        tm->t[r] = dtmax;
    }
    double s[MAX_REPEATS];
    memcpy(s, tm->t, (size_t)reps * sizeof s[0]);
    qsort(s, (size_t)reps, sizeof s[0], cmp_double);
    tm->tmin = s[0];
    tm->tmax = s[reps - 1];
    tm->tmed = (reps % 2) ? s[reps / 2] : 0.5 * (s[reps / 2 - 1] + s[reps / 2]);
}

/* Adds timing fields and rate fields: rate = work / t, `unit` e.g. "gbps" (work in GB). */
static void rec_add_timing(record *r, const timing *tm, const char *unit, double work)
{
    char k[40];
    rec_add(r, "reps", tm->reps, 1);
    rec_add(r, "inner", tm->inner, 1);
    rec_add(r, "t_min", tm->tmin, 0);
    rec_add(r, "t_median", tm->tmed, 0);
    rec_add(r, "t_max", tm->tmax, 0);
    snprintf(k, sizeof k, "%s_best", unit);
    rec_add(r, k, work / tm->tmin, 0);
    snprintf(k, sizeof k, "%s_median", unit);
    rec_add(r, k, work / tm->tmed, 0);
    snprintf(k, sizeof k, "%s_worst", unit);
    rec_add(r, k, work / tm->tmax, 0);
}

/* ---------- helpers ---------- */

static void *xmalloc(size_t nbytes)
{
    void *p = NULL;
    size_t n = (nbytes + 63) / 64 * 64;
    if (n == 0) n = 64;
    if (posix_memalign(&p, 64, n) != 0) p = NULL;
    int bad = (p == NULL), anybad = 0;
    MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (anybad) {
        if (g_rank == 0) fprintf(stderr, "probe: out of memory (%zu bytes per rank)\n", nbytes);
        MPI_Finalize();
        exit(1);
    }
    return p;
}

/* Deterministic values in [-0.5, 0.5): no denormals, no NaN. */
static void fill(double *a, size_t n, unsigned long seed)
{
    unsigned long s = seed * 2654435761UL + 12345UL;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005UL + 1442695040888963407UL;
        a[i] = (double)(s >> 11) * (1.0 / 9007199254740992.0) - 0.5;
    }
}

static volatile double g_sink;

/* ---------- memory bandwidth ---------- */

typedef struct {
    double *restrict a, *restrict b, *restrict c;
    size_t n;
} stream_arg;

/* a = b + s*c; STREAM counts 24 bytes per element (read b, c; write a). */
static void k_triad(void *v)
{
    stream_arg *s = v;
    double *restrict a = s->a;
    const double *restrict b = s->b, *restrict c = s->c;
    const double q = 3.0;
    for (size_t i = 0; i < s->n; i++) a[i] = b[i] + q * c[i];
}

/* sum of b; 8 bytes per element. Eight accumulators so that the FP-add latency chain
 * does not bound the loop below memory bandwidth (no -ffast-math needed). */
static void k_sum(void *v)
{
    stream_arg *s = v;
    const double *restrict b = s->b;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    size_t i = 0, n = s->n;
    for (; i + 8 <= n; i += 8) {
        s0 += b[i];
        s1 += b[i + 1];
        s2 += b[i + 2];
        s3 += b[i + 3];
        s4 += b[i + 4];
        s5 += b[i + 5];
        s6 += b[i + 6];
        s7 += b[i + 7];
    }
    for (; i < n; i++) s0 += b[i];
    g_sink = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

/* the same sum in 512-bit (AVX-512F) or 256-bit (AVX2) loads, four vector accumulators:
 * the read bandwidth of the loads the fused Gram kernel issues (src/kernel_avx512.c); the
 * scalar k_sum above is kept as the plain reference */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx512f"))) static void k_sum512(void *v)
{
    stream_arg *s = v;
    const double *b = s->b;
    size_t i = 0, n = s->n;
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm512_add_pd(a0, _mm512_loadu_pd(b + i));
        a1 = _mm512_add_pd(a1, _mm512_loadu_pd(b + i + 8));
        a2 = _mm512_add_pd(a2, _mm512_loadu_pd(b + i + 16));
        a3 = _mm512_add_pd(a3, _mm512_loadu_pd(b + i + 24));
    }
    double t = _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));
    for (; i < n; i++) t += b[i];
    g_sink = t;
}
__attribute__((target("avx2"))) static void k_sum256(void *v)
{
    stream_arg *s = v;
    const double *b = s->b;
    size_t i = 0, n = s->n;
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_add_pd(a0, _mm256_loadu_pd(b + i));
        a1 = _mm256_add_pd(a1, _mm256_loadu_pd(b + i + 4));
        a2 = _mm256_add_pd(a2, _mm256_loadu_pd(b + i + 8));
        a3 = _mm256_add_pd(a3, _mm256_loadu_pd(b + i + 12));
    }
    double r[4];
    _mm256_storeu_pd(r, _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
    double t = (r[0] + r[1]) + (r[2] + r[3]);
    for (; i < n; i++) t += b[i];
    g_sink = t;
}
/* The best case of a streamed pass at gd's arithmetic intensity on the tall problem (4 d
 * flops per 8-byte double, d = 10: 5 flop/byte): per 512-bit vector of the stream, 20
 * fused multiply-adds into independent register accumulators and a software prefetch 8 KB
 * ahead, with nothing else to load. Against the read-only sum (the bytes) and the same
 * arithmetic on a 32 KB block in cache (the flops) it measures how much a single core can
 * overlap the two here: the floor's max(read, flops) assumes it overlaps them completely. */
#define OVL_F 20
__attribute__((target("avx512f"))) static double ovl_run(const double *b, size_t n)
{
    __m512d acc[OVL_F + 1], c[OVL_F];
    for (int j = 0; j < OVL_F; j++) {
        acc[j] = _mm512_setzero_pd();
        c[j] = _mm512_set1_pd(1.0 + 1e-3 * j);
    }
    acc[OVL_F] = _mm512_setzero_pd();
    for (size_t i = 0; i + 8 <= n; i += 8) {
        __builtin_prefetch(b + i + 1024, 0, 3);
        const __m512d x = _mm512_loadu_pd(b + i);
        _Pragma("GCC unroll 32") for (int j = 0; j < OVL_F; j++)
            acc[j] = _mm512_fmadd_pd(x, c[j], acc[j]);
    }
    for (int j = 0; j < OVL_F; j++)
        acc[OVL_F] = _mm512_add_pd(acc[OVL_F], acc[j]);
    return _mm512_reduce_add_pd(acc[OVL_F]);
}
__attribute__((target("avx512f"))) static void k_ovl_stream(void *v)
{
    stream_arg *s = v;
    g_sink = ovl_run(s->b, s->n);
}
__attribute__((target("avx512f"))) static void k_ovl_cache(void *v)
{
    stream_arg *s = v;
    double t = 0;
    for (size_t k = 0; k + 4096 <= s->n; k += 4096) /* the same flops on the first 32 KB */
        t += ovl_run(s->b + (k / 4096 % 2) * 8, 4096);
    g_sink = t;
}
#define HAVE_VEC_SUM 1
#endif

static void probe_stream(size_t n, int reps)
{
    stream_arg s;
    s.n = n;
    s.a = xmalloc(n * sizeof(double));
    s.b = xmalloc(n * sizeof(double));
    s.c = xmalloc(n * sizeof(double));
    /* first touch by the owning rank; values as in STREAM */
    for (size_t i = 0; i < n; i++) {
        s.a[i] = 1.0;
        s.b[i] = 2.0;
        s.c[i] = 0.5;
    }
    timing tm;
    record *r;
    double gb;

    /* bytes = 24 n per rank (STREAM triad), aggregate over np ranks */
    gb = 24.0 * (double)n * g_np / 1e9;
    measure(k_triad, &s, reps, &tm);
    r = rec_new("triad");
    rec_add(r, "n_per_rank", (double)n, 1);
    rec_add(r, "bytes_per_rank", 24.0 * (double)n, 1);
    rec_add_timing(r, &tm, "gbps", gb);
    if (g_rank == 0)
        printf("triad  a=b+s*c   %d x %zu doubles: best %.2f GB/s, median %.2f GB/s\n", g_np, n,
               gb / tm.tmin, gb / tm.tmed);
    rec_print(r);

    /* bytes = 8 n per rank */
    gb = 8.0 * (double)n * g_np / 1e9;
    measure(k_sum, &s, reps, &tm);
    r = rec_new("sum");
    rec_add(r, "n_per_rank", (double)n, 1);
    rec_add(r, "bytes_per_rank", 8.0 * (double)n, 1);
    rec_add_timing(r, &tm, "gbps", gb);
    if (g_rank == 0)
        printf("sum    s+=b[i]   %d x %zu doubles: best %.2f GB/s, median %.2f GB/s\n", g_np, n,
               gb / tm.tmin, gb / tm.tmed);
    rec_print(r);

#ifdef HAVE_VEC_SUM
    /* the vectorised read-only sums, where the CPU has them (same bytes) */
    __builtin_cpu_init();
    static const struct {
        const char *name, *feat;
        void (*fn)(void *);
    } vs[] = { { "sum_avx512", "avx512f", k_sum512 }, { "sum_avx2", "avx2", k_sum256 } };
    for (size_t v = 0; v < sizeof vs / sizeof vs[0]; v++) {
        int ok = v == 0 ? __builtin_cpu_supports("avx512f") : __builtin_cpu_supports("avx2");
        if (!ok)
            continue;
        measure(vs[v].fn, &s, reps, &tm);
        r = rec_new(vs[v].name);
        rec_add(r, "n_per_rank", (double)n, 1);
        rec_add(r, "bytes_per_rank", 8.0 * (double)n, 1);
        rec_add_timing(r, &tm, "gbps", gb);
        if (g_rank == 0)
            printf("%-10s %s   %d x %zu doubles: best %.2f GB/s, median %.2f GB/s\n", vs[v].name,
                   vs[v].feat, g_np, n, gb / tm.tmin, gb / tm.tmed);
        rec_print(r);
    }
    if (__builtin_cpu_supports("avx512f")) {
        timing tr, ts, tc;
        measure(k_sum512, &s, reps, &tr);
        measure(k_ovl_stream, &s, reps, &ts);
        measure(k_ovl_cache, &s, reps, &tc);
        const double fl = 2.0 * OVL_F * (double)n; /* per rank */
        const double floor = tr.tmed > tc.tmed ? tr.tmed : tc.tmed;
        r = rec_new("overlap");
        rec_add(r, "n_per_rank", (double)n, 1);
        rec_add(r, "flop_per_byte", 2.0 * OVL_F / 8.0, 0);
        rec_add(r, "t_read_median", tr.tmed, 0);
        rec_add(r, "t_cache_median", tc.tmed, 0);
        rec_add_timing(r, &ts, "gflops", fl * g_np / 1e9);
        rec_add(r, "stream_over_max", ts.tmed / floor, 0);
        if (g_rank == 0)
            printf("overlap  %.1f flop/byte, %d x %zu doubles: streamed %.1f ms, read alone %.1f "
                   "ms, flops in cache %.1f ms: %.2f x max(read, flops) (medians)\n",
                   2.0 * OVL_F / 8.0, g_np, n, 1e3 * ts.tmed, 1e3 * tr.tmed, 1e3 * tc.tmed,
                   ts.tmed / floor);
        rec_print(r);
    }
#endif

    free(s.a);
    free(s.b);
    free(s.c);
}

/* ---------- DGEMM / DSYRK ---------- */

typedef struct {
    CBLAS_TRANSPOSE ta, tb;
    int m, n, k, lda, ldb, ldc;
    double beta;
    const double *A, *B;
    double *C;
} gemm_arg;

static void k_gemm(void *v)
{
    gemm_arg *g = v;
    cblas_dgemm(CblasColMajor, g->ta, g->tb, g->m, g->n, g->k, 1.0, g->A, g->lda, g->B, g->ldb,
                g->beta, g->C, g->ldc);
}

/* Every rank runs the same product at once; flops = 2 m n k per rank. */
static void run_gemm(const char *name, const char *what, gemm_arg *g, size_t asz, size_t bsz,
                     size_t csz, int reps)
{
    double *A = xmalloc(asz * sizeof(double));
    double *B = xmalloc(bsz * sizeof(double));
    double *C = xmalloc(csz * sizeof(double));
    fill(A, asz, 1 + (unsigned long)g_rank);
    fill(B, bsz, 1000 + (unsigned long)g_rank);
    fill(C, csz, 2000 + (unsigned long)g_rank);
    g->A = A;
    g->B = B;
    g->C = C;
    timing tm;
    measure(k_gemm, g, reps, &tm);
    double flops = 2.0 * g->m * (double)g->n * g->k; /* per rank */
    record *r = rec_new(name);
    rec_add(r, "m", g->m, 1);
    rec_add(r, "n", g->n, 1);
    rec_add(r, "k", g->k, 1);
    rec_add_timing(r, &tm, "gflops", flops * g_np / 1e9);
    rec_add(r, "gflops_per_rank_median", flops / 1e9 / tm.tmed, 0);
    if (g_rank == 0)
        printf("%-7s %-34s m=%d n=%d k=%d: best %.1f GFLOP/s, median %.1f (per rank %.1f)\n",
               name, what, g->m, g->n, g->k, flops * g_np / 1e9 / tm.tmin,
               flops * g_np / 1e9 / tm.tmed, flops / 1e9 / tm.tmed);
    rec_print(r);
    free(A);
    free(B);
    free(C);
}

static void probe_gemm(int sq, const int ts[3], const int panel[3], int reps)
{
    gemm_arg g;

    /* square: C = A B, all N x N; flops = 2 N^3 */
    memset(&g, 0, sizeof g);
    g.ta = CblasNoTrans;
    g.tb = CblasNoTrans;
    g.m = g.n = g.k = sq;
    g.lda = g.ldb = g.ldc = sq;
    run_gemm("gemm_square", "C=A*B", &g, (size_t)sq * sq, (size_t)sq * sq, (size_t)sq * sq,
             reps);

    /* tall-skinny A = X U: X is M x K row-major (= column-major K x M, ld K), U K x N,
     * A column-major M x N with the long dimension as GEMM's M; flops = 2 M N K */
    int M = ts[0], K = ts[1], N = ts[2];
    memset(&g, 0, sizeof g);
    g.ta = CblasTrans;
    g.tb = CblasNoTrans;
    g.m = M;
    g.n = N;
    g.k = K;
    g.lda = K;
    g.ldb = K;
    g.ldc = M;
    run_gemm("gemm_ts_xu", "A=X*U (X row-major, tall)", &g, (size_t)M * K, (size_t)K * N,
             (size_t)M * N, reps);

    /* tall-skinny G = X^T R: X^T is column-major K x M (ld K), R column-major M x N;
     * flops = 2 K N M */
    memset(&g, 0, sizeof g);
    g.ta = CblasNoTrans;
    g.tb = CblasNoTrans;
    g.m = K;
    g.n = N;
    g.k = M;
    g.lda = K;
    g.ldb = M;
    g.ldc = K;
    run_gemm("gemm_ts_xtr", "G=X^T*R (reduction over rows)", &g, (size_t)M * K, (size_t)M * N,
             (size_t)K * N, reps);

    /* panel update C(P x D) += A(P x NB) B(NB x D), as in a ScaLAPACK block step;
     * flops = 2 P D NB */
    int P = panel[0], NB = panel[1], D = panel[2];
    memset(&g, 0, sizeof g);
    g.ta = CblasNoTrans;
    g.tb = CblasNoTrans;
    g.m = P;
    g.n = D;
    g.k = NB;
    g.lda = P;
    g.ldb = NB;
    g.ldc = P;
    g.beta = 1.0;
    run_gemm("gemm_panel", "C+=A*B (rank-NB update)", &g, (size_t)P * NB, (size_t)NB * D,
             (size_t)P * D, reps);
}

typedef struct {
    int p, nloc;
    const double *X;
    double *C;
} syrk_arg;

/* Local Gram matrix: my row block X_r (nloc x p, row-major = column-major p x nloc) gives
 * C = X_r^T X_r = Xcm Xcm^T, upper triangle. */
static void k_syrk(void *v)
{
    syrk_arg *s = v;
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, s->p, s->nloc, 1.0, s->X, s->p, 0.0,
                s->C, s->p);
}

static void probe_syrk(int n, int p, int reps)
{
    /* rows split as rrr_partition does: b = ceil(n / np), rank r owns [r b, min((r+1) b, n)) */
    int b = (n + g_np - 1) / g_np;
    long lo = (long)g_rank * b, hi = lo + b;
    if (hi > n) hi = n;
    if (lo > n) lo = n;
    syrk_arg s;
    s.p = p;
    s.nloc = (int)(hi - lo);
    double *X = xmalloc((size_t)(s.nloc > 0 ? s.nloc : 1) * p * sizeof(double));
    double *C = xmalloc((size_t)p * p * sizeof(double));
    fill(X, (size_t)s.nloc * p, 7 + (unsigned long)g_rank);
    s.X = X;
    s.C = C;
    timing tm;
    measure(k_syrk, &s, reps, &tm);
    /* flops = n p (p + 1) over all ranks (DSYRK: k n (n+1) for an n x n result from k) */
    double flops = (double)n * p * (p + 1.0);
    record *r = rec_new("syrk");
    rec_add(r, "n", n, 1);
    rec_add(r, "p", p, 1);
    rec_add(r, "n_per_rank", b, 1);
    rec_add_timing(r, &tm, "gflops", flops / 1e9);
    if (g_rank == 0)
        printf("syrk    X^T X local blocks            n=%d p=%d (b=%d): best %.1f GFLOP/s, "
               "median %.1f\n",
               n, p, b, flops / 1e9 / tm.tmin, flops / 1e9 / tm.tmed);
    rec_print(r);
    free(X);
    free(C);
}

/* ---------- one row panel of rrr's gd passes (src/kernels.c) ---------- */

typedef struct {
    int p, q, d, nb;
    const double *Xb, *Yb, *Ut, *V, *Dt;
    double *Ab, *Rt, *Pt, *Et, *gU, *YtA, *AtA, *EtE, *AtE, *YtE;
} pass_arg;

/* Pass G then pass B of src/kernels.c on one panel of nb rows (no centring), same calls and
 * shapes. flops = nb (6 p d + 8 q d + 4 d^2):
 *   A^T = U^T X^T      2 p d nb     R^T = V A^T - Y^T   2 q d nb   (R V)^T = V^T R^T  2 q d nb
 *   X^T (R V)          2 p d nb     Y^T A               2 q d nb   A^T A (syrk)       d^2 nb
 *   E^T = D^T X^T      2 p d nb     E^T E (syrk)        d^2 nb     A^T E              2 d^2 nb
 *   Y^T E              2 q d nb     (and ||R||^2: 2 q nb, ignored) */
static void k_pass(void *v)
{
    pass_arg *a = v;
    const int p = a->p, q = a->q, d = a->d, nb = a->nb;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, nb, p, 1.0, a->Ut, d, a->Xb, p, 0.0,
                a->Ab, d);
    memcpy(a->Rt, a->Yb, (size_t)q * nb * sizeof(double));
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, q, nb, d, 1.0, a->V, q, a->Ab, d, -1.0,
                a->Rt, q);
    g_sink += cblas_ddot(q * nb, a->Rt, 1, a->Rt, 1);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, nb, q, 1.0, a->V, q, a->Rt, q, 0.0,
                a->Pt, d);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, p, d, nb, 1.0, a->Xb, p, a->Pt, d, 1.0,
                a->gU, p);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, q, d, nb, 1.0, a->Yb, q, a->Ab, d, 1.0,
                a->YtA, q);
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, d, nb, 1.0, a->Ab, d, 1.0, a->AtA, d);
    /* pass B */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, nb, p, 1.0, a->Dt, d, a->Xb, p, 0.0,
                a->Et, d);
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, d, nb, 1.0, a->Et, d, 1.0, a->EtE, d);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, d, d, nb, 1.0, a->Ab, d, a->Et, d, 1.0,
                a->AtE, d);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, q, d, nb, 1.0, a->Yb, q, a->Et, d, 1.0,
                a->YtE, q);
}

/* The Gram pass of gd's cross-product form (src/kernels.c rrr_pass_gram) on one panel:
 *   E^T = D^T X^T  2 p d nb     X^T E  2 p d nb        flops = nb (4 p d); X read once */
static void k_gram(void *v)
{
    pass_arg *a = v;
    const int p = a->p, d = a->d, nb = a->nb;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, nb, p, 1.0, a->Dt, d, a->Xb, p, 0.0,
                a->Et, d);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, p, d, nb, 1.0, a->Xb, p, a->Et, d, 1.0,
                a->gU, p);
}

/* rank 0 prints and records one panel rate (flops per row, bytes per row) */
static void report_panel(const char *name, const char *what, const pass_arg *a,
                         const timing *tm, double flops, double bytes)
{
    record *r = rec_new(name);
    rec_add(r, "p", a->p, 1);
    rec_add(r, "q", a->q, 1);
    rec_add(r, "d", a->d, 1);
    rec_add(r, "nb", a->nb, 1);
    rec_add(r, "flops_per_row", flops / (double)a->nb, 1);
    rec_add(r, "bytes_per_row", bytes / (double)a->nb, 1);
    rec_add_timing(r, tm, "gflops", flops * g_np / 1e9);
    rec_add(r, "gflops_per_rank_median", flops / 1e9 / tm->tmed, 0);
    if (g_rank == 0)
        printf("%-7s %-29s p=%d q=%d d=%d nb=%d: best %.1f GFLOP/s, median %.1f (per rank %.1f)\n",
               name, what, a->p, a->q, a->d, a->nb, flops * g_np / 1e9 / tm->tmin,
               flops * g_np / 1e9 / tm->tmed, flops / 1e9 / tm->tmed);
    rec_print(r);
}

static void probe_pass(const int pqdn[4], int reps)
{
    pass_arg a;
    a.p = pqdn[0];
    a.q = pqdn[1];
    a.d = pqdn[2];
    a.nb = pqdn[3];
    size_t p = (size_t)a.p, q = (size_t)a.q, d = (size_t)a.d, nb = (size_t)a.nb;
    double *Xb = xmalloc(nb * p * sizeof(double)), *Yb = xmalloc(nb * q * sizeof(double));
    double *Ut = xmalloc(p * d * sizeof(double)), *V = xmalloc(q * d * sizeof(double));
    double *Dt = xmalloc(p * d * sizeof(double));
    fill(Xb, nb * p, 11 + (unsigned long)g_rank);
    fill(Yb, nb * q, 12 + (unsigned long)g_rank);
    fill(Ut, p * d, 13);
    fill(V, q * d, 14);
    fill(Dt, p * d, 15);
    size_t nout = 3 * nb * d + q * nb + p * d + 2 * q * d + 3 * d * d;
    double *out = xmalloc(nout * sizeof(double));
    memset(out, 0, nout * sizeof(double));
    a.Xb = Xb;
    a.Yb = Yb;
    a.Ut = Ut;
    a.V = V;
    a.Dt = Dt;
    a.Ab = out;
    a.Et = a.Ab + nb * d;
    a.Pt = a.Et + nb * d;
    a.Rt = a.Pt + nb * d;
    a.gU = a.Rt + q * nb;
    a.YtA = a.gU + p * d;
    a.YtE = a.YtA + q * d;
    a.AtA = a.YtE + q * d;
    a.EtE = a.AtA + d * d;
    a.AtE = a.EtE + d * d;
    timing tm;
    measure(k_pass, &a, reps, &tm);
    double flops = (double)nb * (6.0 * p * d + 8.0 * q * d + 4.0 * d * d); /* per rank */
    report_panel("pass", "gd panel (in cache)", &a, &tm, flops, 8.0 * (double)nb * (2.0 * p + 2.0 * q));
    measure(k_gram, &a, reps, &tm);
    report_panel("gram", "gd Gram panel (in cache)", &a, &tm, 4.0 * (double)nb * p * d,
                 8.0 * (double)nb * p);
    free(Xb);
    free(Yb);
    free(Ut);
    free(V);
    free(Dt);
    free(out);

    /* The replicated d x d algebra of a gd iteration is mostly U^T U-shaped products:
     * C (d x d) = U^T U, U p x d column-major; flops = 2 d d p. */
    gemm_arg g;
    memset(&g, 0, sizeof g);
    g.ta = CblasTrans;
    g.tb = CblasNoTrans;
    g.m = a.d;
    g.n = a.d;
    g.k = a.p;
    g.lda = a.p;
    g.ldb = a.p;
    g.ldc = a.d;
    run_gemm("gemm_gram", "C=U^T*U (replicated d x d)", &g, p * d, p * d, d * d, reps);
}

/* ---------- MPI_Allreduce ---------- */

typedef struct {
    const double *s;
    double *r;
    int count;
} ar_arg;

static void k_allreduce(void *v)
{
    ar_arg *a = v;
    MPI_Allreduce(a->s, a->r, a->count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

static void probe_allreduce(const long *sizes, int nsizes, int reps)
{
    double tbest[MAX_SIZES], tmed[MAX_SIZES], bytes[MAX_SIZES];
    for (int i = 0; i < nsizes; i++) {
        ar_arg a;
        a.count = (int)(sizes[i] / 8);
        double *s = xmalloc((size_t)a.count * sizeof(double));
        double *r = xmalloc((size_t)a.count * sizeof(double));
        fill(s, (size_t)a.count, 99 + (unsigned long)g_rank);
        a.s = s;
        a.r = r;
        timing tm;
        measure(k_allreduce, &a, reps, &tm);
        bytes[i] = 8.0 * a.count;
        tbest[i] = tm.tmin;
        tmed[i] = tm.tmed;
        record *rc = rec_new("allreduce");
        rec_add(rc, "bytes", bytes[i], 1);
        /* bandwidth = message bytes / time (algorithm bandwidth, as in OSU) */
        rec_add_timing(rc, &tm, "gbps", bytes[i] / 1e9);
        rec_add(rc, "us_min", tm.tmin * 1e6, 0);
        rec_add(rc, "us_median", tm.tmed * 1e6, 0);
        if (g_rank == 0)
            printf("allreduce %9.0f B: best %10.2f us, median %10.2f us, %.2f GB/s (median)\n",
                   bytes[i], tm.tmin * 1e6, tm.tmed * 1e6, bytes[i] / 1e9 / tm.tmed);
        rec_print(rc);
        free(s);
        free(r);
    }
    if (nsizes < 2) return;
    /* t = alpha + beta * bytes, fitted to the median times by least squares on the relative
     * residuals (weights 1/t^2), since t spans orders of magnitude and plain least squares
     * would let the largest message decide alpha. */
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < nsizes; i++) {
        double w = 1.0 / (tmed[i] * tmed[i]);
        sw += w;
        sx += w * bytes[i];
        sy += w * tmed[i];
        sxx += w * bytes[i] * bytes[i];
        sxy += w * bytes[i] * tmed[i];
    }
    double det = sw * sxx - sx * sx;
    double beta = det != 0 ? (sw * sxy - sx * sy) / det : 0;
    double alpha = (sy - beta * sx) / sw;
    double maxrel = 0;
    for (int i = 0; i < nsizes; i++) {
        double rel = fabs(alpha + beta * bytes[i] - tmed[i]) / tmed[i];
        if (rel > maxrel) maxrel = rel;
    }
    record *rc = rec_new("allreduce_fit");
    rec_add(rc, "alpha", alpha, 0);
    rec_add(rc, "beta", beta, 0);
    rec_add(rc, "alpha_us", alpha * 1e6, 0);
    rec_add(rc, "gbps_asymptotic", beta > 0 ? 1e-9 / beta : 0, 0);
    rec_add(rc, "fit_max_rel_err", maxrel, 0);
    rec_add(rc, "best_t8", tbest[0], 0);
    if (g_rank == 0)
        printf("allreduce fit t = alpha + beta*bytes: alpha = %.3g s (%.2f us), beta = %.3g "
               "s/B (%.2f GB/s), max rel. misfit %.0f%%\n",
               alpha, alpha * 1e6, beta, beta > 0 ? 1e-9 / beta : 0, maxrel * 100);
    rec_print(rc);
}

/* ---------- JSON ---------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static int write_json(const char *path, double wtick, const char *nthreads_env,
                      const char *coretype_env, long cores)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "{\n  \"np\": %d,\n  \"cores_online\": %ld,\n  \"corename\": ", g_np, cores);
    json_str(f, g_core);
    fprintf(f, ",\n  \"openblas_config\": ");
    json_str(f, openblas_get_config());
    fprintf(f, ",\n  \"openblas_threads\": %d,\n  \"OPENBLAS_NUM_THREADS\": ", g_threads);
    if (nthreads_env) json_str(f, nthreads_env); else fprintf(f, "null");
    fprintf(f, ",\n  \"OPENBLAS_CORETYPE\": ");
    if (coretype_env) json_str(f, coretype_env); else fprintf(f, "null");
    fprintf(f, ",\n  \"mpi_wtick\": %.17g,\n  \"results\": {", wtick);
    for (int i = 0; i < g_nrec; i++) {
        const record *r = &g_rec[i];
        /* allreduce has one record per size: key them as allreduce_<bytes> */
        char name[64];
        if (strncmp(r->name, "allreduce", 9) == 0 && strncmp(r->name, "allreduce_fit", 13) != 0)
            snprintf(name, sizeof name, "%.40s_%.0f", r->name, r->f[0].val);
        else
            snprintf(name, sizeof name, "%.47s", r->name);
        fprintf(f, "%s\n    ", i ? "," : "");
        json_str(f, name);
        fprintf(f, ": {");
        for (int j = 0; j < r->nfield; j++) {
            fprintf(f, "%s", j ? ", " : "");
            json_str(f, r->f[j].key);
            if (r->f[j].is_int)
                fprintf(f, ": %.0f", r->f[j].val);
            else
                fprintf(f, ": %.17g", r->f[j].val);
        }
        fprintf(f, "}");
    }
    fprintf(f, "\n  }\n}\n");
    int bad = ferror(f);
    if (fclose(f) != 0) bad = 1;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

/* ---------- command line ---------- */

static int parse_ints(const char *s, int *out, int n)
{
    char *end;
    for (int i = 0; i < n; i++) {
        long v = strtol(s, &end, 10);
        if (end == s || v <= 0 || v > 1000000000L) return -1;
        out[i] = (int)v;
        if (i < n - 1) {
            if (*end != ',') return -1;
            s = end + 1;
        }
    }
    return *end == '\0' ? 0 : -1;
}

static void usage_fail(const char *msg)
{
    if (g_rank == 0)
        fprintf(stderr, "probe: %s (see the comment at the top of tests/bench/probe.c)\n", msg);
    MPI_Finalize();
    exit(2);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_np);

    size_t stream_n = (size_t)1 << 26;
    int square = 2000, ts[3] = {4096, 500, 10}, panel[3] = {2000, 64, 2000};
    int syrk[2] = {20000, 2000};
    int pass[4] = {500, 200, 10, 64}, do_pass = 0;
    long ar_sizes[MAX_SIZES] = {8, 65536, 1048576, 8388608};
    int n_ar = 4, reps = 5;
    int do_stream = 1, do_gemm = 1, do_syrk = 1, do_ar = 1;
    const char *json = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            if (g_rank == 0)
                printf("usage: probe [--stream-n N] [--square N] [--ts M,K,N] [--panel P,NB,D] "
                       "[--syrk N,P] [--pass P,Q,D[,NB]] [--allreduce-sizes B,...] [--repeats R>=5] "
                       "[--only stream,gemm,syrk,pass,allreduce] [--tag NAME] [--quick] "
                       "[--json FILE] [--corename]\n");
            MPI_Finalize();
            return 0;
        } else if (strcmp(a, "--corename") == 0) {
            if (g_rank == 0) printf("%s\n", openblas_get_corename());
            MPI_Finalize();
            return 0;
        } else if (strcmp(a, "--quick") == 0) {
            stream_n = (size_t)1 << 22;
            square = 500;
            panel[0] = 500;
            panel[1] = 64;
            panel[2] = 500;
            syrk[0] = 4000;
            syrk[1] = 500;
            continue;
        }
        if (!v) usage_fail("missing value after an option, or unknown option");
        i++;
        if (strcmp(a, "--stream-n") == 0) {
            char *end;
            long long n = strtoll(v, &end, 10);
            if (*end || n < 1024) usage_fail("--stream-n needs an integer >= 1024");
            stream_n = (size_t)n;
        } else if (strcmp(a, "--square") == 0) {
            if (parse_ints(v, &square, 1)) usage_fail("--square needs a positive integer");
        } else if (strcmp(a, "--ts") == 0) {
            if (parse_ints(v, ts, 3)) usage_fail("--ts needs M,K,N");
        } else if (strcmp(a, "--panel") == 0) {
            if (parse_ints(v, panel, 3)) usage_fail("--panel needs P,NB,D");
        } else if (strcmp(a, "--syrk") == 0) {
            if (parse_ints(v, syrk, 2)) usage_fail("--syrk needs N,P");
        } else if (strcmp(a, "--pass") == 0) {
            if (parse_ints(v, pass, 3) != 0 && parse_ints(v, pass, 4) != 0)
                usage_fail("--pass needs P,Q,D or P,Q,D,NB");
            do_pass = 1;
        } else if (strcmp(a, "--tag") == 0) {
            if (strlen(v) >= sizeof g_tag || strpbrk(v, " =\"\\"))
                usage_fail("--tag needs a short name without spaces, '=' or quotes");
            snprintf(g_tag, sizeof g_tag, "%s", v);
        } else if (strcmp(a, "--repeats") == 0) {
            if (parse_ints(v, &reps, 1) || reps < 5 || reps > MAX_REPEATS)
                usage_fail("--repeats needs an integer in [5, 1000]");
        } else if (strcmp(a, "--allreduce-sizes") == 0) {
            n_ar = 0;
            const char *s = v;
            char *end;
            for (;;) {
                long b = strtol(s, &end, 10);
                if (end == s || b < 8 || b % 8 || b > (1L << 30) || n_ar == MAX_SIZES)
                    usage_fail("--allreduce-sizes needs up to 16 sizes, multiples of 8 bytes");
                ar_sizes[n_ar++] = b;
                if (*end == '\0') break;
                if (*end != ',') usage_fail("--allreduce-sizes: comma-separated bytes");
                s = end + 1;
            }
        } else if (strcmp(a, "--only") == 0) {
            do_stream = strstr(v, "stream") != NULL;
            do_gemm = strstr(v, "gemm") != NULL;
            do_syrk = strstr(v, "syrk") != NULL;
            do_ar = strstr(v, "allreduce") != NULL;
            if (strstr(v, "pass") != NULL) do_pass = 1;
            if (!(do_stream || do_gemm || do_syrk || do_ar || do_pass))
                usage_fail("--only takes a list of stream,gemm,syrk,pass,allreduce");
        } else if (strcmp(a, "--json") == 0) {
            json = v;
        } else {
            usage_fail("unknown option");
        }
    }

    snprintf(g_core, sizeof g_core, "%s", openblas_get_corename());
    g_threads = openblas_get_num_threads();
    const char *nt_env = getenv("OPENBLAS_NUM_THREADS");
    const char *ct_env = getenv("OPENBLAS_CORETYPE");
    double wtick = MPI_Wtick();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    char host[256] = "?";
    gethostname(host, sizeof host - 1);

    /* every rank's kernel choice, to catch ranks that disagree */
    char allcore[64 * 64];
    int ncore_gather = g_np <= 64 ? g_np : 64;
    {
        char *buf = g_rank == 0 ? malloc((size_t)g_np * 64) : NULL;
        MPI_Gather(g_core, 64, MPI_CHAR, buf, 64, MPI_CHAR, 0, MPI_COMM_WORLD);
        allcore[0] = '\0';
        if (g_rank == 0) {
            for (int r = 0; r < ncore_gather; r++)
                if (strcmp(buf + 64 * r, g_core) != 0) {
                    snprintf(allcore, sizeof allcore, "rank %d uses %s", r, buf + 64 * r);
                    break;
                }
            free(buf);
        }
    }

    if (g_rank == 0) {
        printf("probe: np=%d host=%s cores_online=%ld\n", g_np, host, cores);
        printf("openblas: corename=%s threads=%d OPENBLAS_NUM_THREADS=%s OPENBLAS_CORETYPE=%s\n",
               g_core, g_threads, nt_env ? nt_env : "(unset)", ct_env ? ct_env : "(unset)");
        printf("openblas: config=%s\n", openblas_get_config());
        printf("MPI_Wtick=%.3g s\n", wtick);
        printf("timing: 1 warm-up + %d repeats; time = max over ranks; rates aggregate over "
               "%d rank(s)\n",
               reps, g_np);
        if (allcore[0]) printf("WARNING: ranks disagree on the OpenBLAS kernel: %s\n", allcore);
        if ((long)g_np * g_threads > cores)
            printf("WARNING: np x OpenBLAS threads = %ld > %ld cores: oversubscribed, rates "
                   "are not representative (set OPENBLAS_NUM_THREADS)\n",
                   (long)g_np * g_threads, cores);
        printf("probe=env np=%d threads=%d core=%s wtick=%.6g cores_online=%ld "
               "OPENBLAS_NUM_THREADS=%s OPENBLAS_CORETYPE=%s\n",
               g_np, g_threads, g_core, wtick, cores, nt_env ? nt_env : "unset",
               ct_env ? ct_env : "unset");
        fflush(stdout);
    }

    double t_start = MPI_Wtime();
    if (do_stream) probe_stream(stream_n, reps);
    if (do_gemm) probe_gemm(square, ts, panel, reps);
    if (do_syrk) probe_syrk(syrk[0], syrk[1], reps);
    if (do_pass) probe_pass(pass, reps);
    if (do_ar) probe_allreduce(ar_sizes, n_ar, reps);
    double t_total = MPI_Wtime() - t_start;
    if (g_rank == 0) printf("probe=done np=%d t_total=%.3f\n", g_np, t_total);

    int rc = 0;
    if (json && g_rank == 0 && write_json(json, wtick, nt_env, ct_env, cores) != 0) {
        fprintf(stderr, "probe: cannot write %s\n", json);
        rc = 3;
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return rc;
}
