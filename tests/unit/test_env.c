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
    /* one variable set (no job variables: a singleton), and the pml that results */
    static const struct { const char *var, *value, *want, *what; } one[] = {
        { "SLURM_PROCID", "0", "", "srun without Open MPI's variables: left alone" },
        { "RRR_NO_MPIFIX", "1", "", "RRR_NO_MPIFIX: left alone" },
        { "OMPI_MCA_pml", "ucx", "ucx", "the user's pml: kept" },
        { "OMPI_MCA_pml", "^ob1", "^ob1", "an exclusion of ob1: kept" },
        { "OMPI_MCA_pml", "^ucx,cm", "ob1", "an exclusion that leaves ob1 in: ob1" },
        { "OMPI_MCA_mca_base_param_files", "/some/file", "",
          "parameter files named in the environment: left alone" },
    };
    for (size_t k = 0; k < sizeof one / sizeof *one; k++) {
        clear();
        setenv(one[k].var, one[k].value, 1);
        CHECK(strcmp(picked(NULL), one[k].want) == 0, "%s", one[k].what);
    }
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
