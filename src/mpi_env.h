/* src/mpi_env.h: the MPI environment rrr sets for itself before MPI_Init. */
#ifndef RRR_MPI_ENV_H
#define RRR_MPI_ENV_H

/* Local, before MPI_Init. When every rank of the job is rrr on this node (Open MPI's mpirun
 * says so, or no launcher started us), nobody chose a point-to-point layer (OMPI_MCA_pml
 * and the "pml" lines of Open MPI's system and user parameter files unset, or only
 * excluding components other than ob1, like Debian's "^ucx") and RRR_NO_MPIFIX is unset,
 * ask for ob1, whose shared-memory transport (vader) is what ranks on one node use anyway.
 * Open MPI 4.1's default selection first opens the cm pml and its matching-transport
 * components for Omni-Path (psm, psm2), whose libraries took 0.25 s of every start-up here
 * (0.39 s against 0.15 s for a 2-rank `rrr --version`; excluding psm and psm2 alone gave
 * the same 0.14 s). Across nodes the default stays: there the fabric decides. */
void rrr_mpi_pick_transport(void);
/* The same with the system parameter file at sysconf (NULL: none), for tests. */
void rrr_mpi_pick_transport_from(const char *sysconf);

#endif
