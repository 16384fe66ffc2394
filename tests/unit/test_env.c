/* tests/unit/test_env.c: serial tests of the environment rrr sets before MPI_Init
 * (mpi_env.c): when it asks Open MPI for ob1 and when it leaves the choice alone. */
#define _GNU_SOURCE /* setenv, unsetenv, mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test.h"
#include "mpi_env.h"

static char dir[64], sysfile[128];

static void clear(void)
{
    const char *vars[] = { "OMPI_MCA_pml", "OMPI_MCA_mca_base_param_files", "RRR_NO_MPIFIX",
                           "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE",
                           "OMPI_APP_CTX_NUM_PROCS", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID" };
    for (size_t k = 0; k < sizeof vars / sizeof *vars; k++)
        unsetenv(vars[k]);
    setenv("HOME", dir, 1);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* The pml after rrr_mpi_pick_transport_from(conf), or "" when unset. */
static const char *picked(const char *conf)
{
    rrr_mpi_pick_transport_from(conf);
    const char *v = getenv("OMPI_MCA_pml");
    return v != NULL ? v : "";
}

static void job(const char *size, const char *local, const char *app)
{
    setenv("OMPI_COMM_WORLD_SIZE", size, 1);
    setenv("OMPI_COMM_WORLD_LOCAL_SIZE", local, 1);
    if (app != NULL)
        setenv("OMPI_APP_CTX_NUM_PROCS", app, 1);
}

int main(void)
{
    char user[160], udir[128];
    snprintf(dir, sizeof dir, "/tmp/rrr-test-env.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(sysfile, sizeof sysfile, "%s/system.conf", dir);
    snprintf(udir, sizeof udir, "%s/.openmpi", dir);
    snprintf(user, sizeof user, "%s/mca-params.conf", udir);
    mkdir(udir, 0700);

    clear();
    CHECK(strcmp(picked(NULL), "ob1") == 0, "singleton, nothing chosen: ob1");
    clear();
    job("2", "2", "2");
    CHECK(strcmp(picked(NULL), "ob1") == 0, "mpirun, every rank on this node: ob1");
    clear();
    job("4", "2", "4");
    CHECK(strcmp(picked(NULL), "") == 0, "ranks on two nodes: left alone");
    clear();
    job("3", "3", "2");
    CHECK(strcmp(picked(NULL), "") == 0, "MPMD (another program in the job): left alone");
    clear();
    setenv("SLURM_PROCID", "0", 1);
    CHECK(strcmp(picked(NULL), "") == 0, "srun without Open MPI's variables: left alone");
    clear();
    setenv("RRR_NO_MPIFIX", "1", 1);
    CHECK(strcmp(picked(NULL), "") == 0, "RRR_NO_MPIFIX: left alone");
    clear();
    setenv("OMPI_MCA_pml", "ucx", 1);
    CHECK(strcmp(picked(NULL), "ucx") == 0, "the user's pml: kept");
    clear();
    setenv("OMPI_MCA_pml", "^ob1", 1);
    CHECK(strcmp(picked(NULL), "^ob1") == 0, "an exclusion of ob1: kept");
    clear();
    setenv("OMPI_MCA_pml", "^ucx,cm", 1);
    CHECK(strcmp(picked(NULL), "ob1") == 0, "an exclusion that leaves ob1 in: ob1");
    clear();
    setenv("OMPI_MCA_mca_base_param_files", "/some/file", 1);
    CHECK(strcmp(picked(NULL), "") == 0, "parameter files named in the environment: left alone");
    clear();
    write_file(sysfile, "# Debian's\nmtl = ^ofi\npml = ^ucx\n");
    CHECK(strcmp(picked(sysfile), "ob1") == 0, "system file excluding ucx only: ob1");
    clear();
    write_file(sysfile, "  pml=cm\n");
    CHECK(strcmp(picked(sysfile), "") == 0, "system file choosing cm: left alone");
    clear();
    write_file(sysfile, "pml_base_verbose = 10\n");
    write_file(user, "pml = ucx,ob1\n");
    CHECK(strcmp(picked(sysfile), "") == 0, "user file choosing a pml (pml_base_verbose is not "
          "one): left alone");
    unlink(user);
    unlink(sysfile);
    rmdir(udir);
    rmdir(dir);
    return test_summary();
}
