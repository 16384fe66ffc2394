/* src/mpi_env.h: the MPI environment rrr sets for itself before MPI_Init. */
#ifndef RRR_MPI_ENV_H
#define RRR_MPI_ENV_H

/* Local, before MPI_Init. When every rank runs on this node (Open MPI's mpirun says so, or
 * no launcher started us) and the user chose no point-to-point layer (OMPI_MCA_pml unset,
 * RRR_NO_MPIFIX unset), ask for ob1, whose shared-memory transport (vader) is what ranks
 * on one node use anyway: Open MPI 4.1's default first initialises UCX, which probes the
 * network and cost 0.2 s of every start-up here (0.37 s against 0.15 s for a 2-rank
 * `rrr --version`). Across nodes the default stays: there UCX is the fabric. */
void rrr_mpi_pick_transport(void);

#endif
