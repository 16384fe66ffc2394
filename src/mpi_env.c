/* src/mpi_env.c: Open MPI's transport when every rank is on one node (before MPI_Init). */
#define _GNU_SOURCE /* setenv */
#include <stdlib.h>
#include <string.h>

#include "mpi_env.h"

/* Local. Did mpirun start every rank of the job on this node? Open MPI's launcher says so
 * in the environment of each process; a process started without a launcher (a singleton)
 * is alone by definition. Other launchers (srun) set none of these: then we do not know. */
static int one_node(void)
{
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (size != NULL && local != NULL)
        return strcmp(size, local) == 0;
    return size == NULL && local == NULL && getenv("PMIX_RANK") == NULL &&
           getenv("PMI_RANK") == NULL && getenv("SLURM_PROCID") == NULL;
}

void rrr_mpi_pick_transport(void)
{
    if (getenv("OMPI_MCA_pml") != NULL || getenv("RRR_NO_MPIFIX") != NULL || !one_node())
        return;
    setenv("OMPI_MCA_pml", "ob1", 0);
}
