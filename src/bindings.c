/* src/bindings.c: what callers outside C need to drive the library: a context from a
 * communicator's Fortran handle (mpi4py's comm.py2f(), Fortran programs), and agreement on
 * the local failures of their own calls. */
#include "comm.h"

rrr_status rrr_ctx_create_f(int fcomm, rrr_ctx **out)
{
    return rrr_ctx_create(MPI_Comm_f2c((MPI_Fint)fcomm), out);
}

rrr_status rrr_ctx_agree(rrr_ctx *ctx, rrr_status st)
{
    if (ctx == NULL)
        return RRR_EINVAL;
    return rrr_agree(ctx, st);
}
