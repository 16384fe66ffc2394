/* tests/bench/read_formats.c: time rrr_block_read on the same matrix in each layout (the
 * README's "Files" figures): best of 5 reads per path, the max over ranks.
 *   python3 -c "import numpy as np, h5py; X = np.random.default_rng(0).standard_normal((200000, 500));
 *     np.save('/tmp/C.npy', X); np.save('/tmp/F.npy', np.asfortranarray(X));
 *     f = h5py.File('/tmp/X.h5', 'w'); f['X'] = X; f.create_dataset('Xc', data=X, chunks=(4096, 500))"
 *   mpicc -O2 -Iinclude tests/bench/read_formats.c -Lbuild -lrrr -Wl,-rpath,$PWD/build -o /tmp/rb
 *   mpirun -np 2 /tmp/rb /tmp/C.npy /tmp/F.npy /tmp/X.h5:/X /tmp/X.h5:/Xc */
#include <rrr.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    rrr_ctx *ctx = NULL;
    if (rrr_ctx_create(MPI_COMM_WORLD, &ctx) != RRR_OK)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (int k = 1; k < argc; k++) {
        double best = 1e300;
        for (int rep = 0; rep < 5; rep++) {
            rrr_block *B = NULL;
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime(), t, tmax;
            rrr_status st = rrr_block_read(ctx, argv[k], &B);
            t = MPI_Wtime() - t0;
            if (st != RRR_OK) {
                if (rrr_ctx_rank(ctx) == 0)
                    fprintf(stderr, "%s\n", rrr_ctx_errmsg(ctx));
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            MPI_Allreduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            best = tmax < best ? tmax : best;
            rrr_block_destroy(&B);
        }
        if (rrr_ctx_rank(ctx) == 0)
            printf("read %s np=%d best=%.3f s\n", argv[k], rrr_ctx_size(ctx), best);
    }
    rrr_ctx_destroy(&ctx);
    MPI_Finalize();
    return 0;
}
