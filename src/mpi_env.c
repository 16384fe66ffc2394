/* src/mpi_env.c: Open MPI's transport when every rank is on one node (before MPI_Init). */
#define _GNU_SOURCE /* setenv */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_env.h"

/* Local. Did mpirun start every rank of the job on this node, all of them rrr? Open MPI's
 * launcher says so in the environment of each process (an MPMD launch has more processes in
 * the job than in rrr's app context, and they must agree on the pml); a process started
 * without a launcher (a singleton) is alone by definition. Other launchers (srun) set none
 * of these: then we do not know. */
static int one_node(void)
{
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    const char *app = getenv("OMPI_APP_CTX_NUM_PROCS");
    if (size != NULL && local != NULL)
        return strcmp(size, local) == 0 && (app == NULL || strcmp(size, app) == 0);
    return size == NULL && local == NULL && getenv("PMIX_RANK") == NULL &&
           getenv("PMI_RANK") == NULL && getenv("SLURM_PROCID") == NULL;
}

/* Local. Does the value of a pml parameter choose (e.g. "ucx"), rather than only exclude
 * (e.g. Debian's "^ucx") components other than ob1? */
static int pml_value_chooses(const char *v)
{
    return v[0] != '^' || strstr(v, "ob1") != NULL;
}

/* Local. Does the MCA parameter file at path choose the pml (a line "pml = ...")? */
static int file_sets_pml(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int found = 0;
    if (f == NULL)
        return 0;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        const char *c = line;
        while (isspace((unsigned char)*c))
            c++;
        if (strncmp(c, "pml", 3) != 0 || !(isspace((unsigned char)c[3]) || c[3] == '='))
            continue;
        c += 3;
        while (isspace((unsigned char)*c) || *c == '=')
            c++;
        found = pml_value_chooses(c);
    }
    fclose(f);
    return found;
}

/* Local. Has the user or the site chosen a pml, in the environment or in the parameter
 * files Open MPI reads (the system's, the user's, or files named by
 * OMPI_MCA_mca_base_param_files, which we do not parse: taken as a choice)? An exclusion
 * list that leaves ob1 in ("^ucx") is not a choice. */
static int pml_chosen(const char *sysconf)
{
    char path[4096];
    const char *home = getenv("HOME");
    const char *env = getenv("OMPI_MCA_pml");
    if ((env != NULL && pml_value_chooses(env)) ||
        getenv("OMPI_MCA_mca_base_param_files") != NULL)
        return 1;
    if (sysconf != NULL && file_sets_pml(sysconf))
        return 1;
    if (home != NULL && snprintf(path, sizeof path, "%s/.openmpi/mca-params.conf", home) <
                            (int)sizeof path && file_sets_pml(path))
        return 1;
    return 0;
}

void rrr_mpi_pick_transport_from(const char *sysconf)
{
    if (getenv("RRR_NO_MPIFIX") != NULL || !one_node() || pml_chosen(sysconf))
        return;
    setenv("OMPI_MCA_pml", "ob1", 1); /* over an exclusion list that leaves ob1 in */
}

void rrr_mpi_pick_transport(void)
{
    rrr_mpi_pick_transport_from("/etc/openmpi/openmpi-mca-params.conf");
}
