/* src/bindings.c: what callers outside C need to drive the library: a context from a
 * communicator's Fortran handle (mpi4py's comm.py2f(), Fortran programs), and agreement on
 * the local failures of their own calls. */
#include <string.h>

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

size_t rrr_sizeof(const char *type)
{
    static const struct { const char *name; size_t size; } t[] = {
        { "rrr_block", sizeof(rrr_block) },       { "rrr_fit_opts", sizeof(rrr_fit_opts) },
        { "rrr_model", sizeof(rrr_model) },       { "rrr_fit_info", sizeof(rrr_fit_info) },
        { "rrr_cv_opts", sizeof(rrr_cv_opts) },   { "rrr_cv_result", sizeof(rrr_cv_result) },
    };
    for (size_t k = 0; type != NULL && k < sizeof t / sizeof t[0]; k++)
        if (strcmp(type, t[k].name) == 0)
            return t[k].size;
    return 0;
}
