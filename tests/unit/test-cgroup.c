/* process/cgroup: parsing /proc/self/cgroup and cgroup.controllers, the
 * names of the sub-cgroups, the delegation decision, and the file-system part
 * on a plain directory standing in for the daemon's cgroup. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "helpers.h"
#include "process/cgroup.h"

static int parse(const char *text, char *buf, size_t size)
{
        return cgroup_parse_self(text, strlen(text), buf, size);
}

Test(cgroup_parse, the_unified_line_of_a_pure_cgroup2_system)
{
        char buf[256];

        cr_assert_eq(parse("0::/system.slice/unixsockd.service\n", buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "/system.slice/unixsockd.service");
}

Test(cgroup_parse, the_unified_line_among_v1_lines_and_without_a_final_newline)
{
        char buf[256];

        cr_assert_eq(parse("12:pids:/a\n4:memory:/b\n1:name=systemd:/c\n0::/user.slice/x", buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "/user.slice/x");
}

Test(cgroup_parse, the_root_cgroup_is_a_path)
{
        char buf[8];

        cr_assert_eq(parse("0::/\n", buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "/");
}

Test(cgroup_parse, refuses_what_is_no_usable_path)
{
        char buf[64];

        cr_assert_eq(parse("4:memory:/b\n", buf, sizeof(buf)), -ENOENT, "v1 only");
        cr_assert_eq(parse("", buf, sizeof(buf)), -ENOENT);
        cr_assert_eq(parse("0::/../..\n", buf, sizeof(buf)), -EINVAL, "outside a cgroup namespace");
        cr_assert_eq(parse("0::/a/./b\n", buf, sizeof(buf)), -EINVAL);
        cr_assert_eq(parse("0::\n", buf, sizeof(buf)), -EINVAL);
        cr_assert_eq(parse("0::relative\n", buf, sizeof(buf)), -EINVAL);
        cr_assert_eq(parse("0::/a-path-longer-than-the-buffer-of-sixty-four-bytes-given-to-the-parser\n", buf,
                           sizeof(buf)), -ENAMETOOLONG);
        /* a name that only starts with dots is a name */
        cr_assert_eq(parse("0::/..x/.y\n", buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "/..x/.y");
}

Test(cgroup_parse, controllers_by_whole_word)
{
        cr_assert_eq(cgroup_parse_controllers("cpuset cpu io memory hugetlb pids rdma misc\n"),
                     CGROUP_MEMORY | CGROUP_PIDS | CGROUP_CPU);
        cr_assert_eq(cgroup_parse_controllers("cpuset io hugetlb\n"), 0u, "cpuset is not cpu");
        cr_assert_eq(cgroup_parse_controllers("memory"), (unsigned)CGROUP_MEMORY);
        cr_assert_eq(cgroup_parse_controllers(""), 0u);
}

Test(cgroup_names, first_generation_is_the_plain_name_later_ones_carry_at_n)
{
        char buf[NAME_MAX + 1], longname[300];

        cr_assert_eq(cgroup_child_name("echo", 1, buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "worker-echo");
        cr_assert_eq(cgroup_child_name("echo", 2, buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "worker-echo@2");
        /* '@' is not in a worker name ([A-Za-z0-9_.-]+): "a.2" and "a@2" never meet */
        cr_assert_eq(cgroup_child_name("a.2", 1, buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "worker-a.2");
        memset(longname, 'x', 248);
        longname[248] = '\0';
        cr_assert_eq(cgroup_child_name(longname, 1, buf, sizeof(buf)), 0, "255 bytes fit");
        cr_assert_eq(cgroup_child_name(longname, 10, buf, sizeof(buf)), -ENAMETOOLONG);
}

static struct cfg_worker worker(const char *name)
{
        return (struct cfg_worker){
                .name = (char *)name, .memory_max = CFG_INFINITY, .pids_max = CFG_INFINITY,
        };
}

Test(cgroup_needs, a_controller_per_limit_and_none_for_infinity)
{
        struct cfg_worker w = worker("w");

        cr_assert_eq(cgroup_needs(&w), 0u);
        w.memory_max = 1 << 20;
        cr_assert_eq(cgroup_needs(&w), (unsigned)CGROUP_MEMORY);
        w.pids_max = 10;
        w.cpu_weight = 50;
        cr_assert_eq(cgroup_needs(&w), CGROUP_MEMORY | CGROUP_PIDS | CGROUP_CPU);
}

Test(cgroup_decide, delegated_only_with_every_condition)
{
        struct cgroup_probe ok = { .cgroup2 = true, .path = "/system.slice/u.service", .opened = true, .delegated = true };
        struct cgroup_probe p;
        char why[256];

        cr_assert(cgroup_decide(&ok, why, sizeof(why)));
        p = ok;
        p.cgroup2 = false;
        cr_assert(!cgroup_decide(&p, why, sizeof(why)));
        cr_assert(strstr(why, "not a cgroup2 file system"), "%s", why);
        p = ok;
        p.path = NULL;
        p.path_error = "No such file or directory";
        cr_assert(!cgroup_decide(&p, why, sizeof(why)));
        cr_assert(strstr(why, "/proc/self/cgroup: No such file"), "%s", why);
        p = ok;
        p.path = "/";
        cr_assert(!cgroup_decide(&p, why, sizeof(why)));
        cr_assert(strstr(why, "root cgroup"), "%s", why);
        p = ok;
        p.opened = false;
        p.open_error = "Permission denied";
        cr_assert(!cgroup_decide(&p, why, sizeof(why)));
        cr_assert_str_eq(why, "/sys/fs/cgroup/system.slice/u.service: Permission denied");
        /* root may write any cgroup: writable is no proof, the attribute is */
        p = ok;
        p.delegated = false;
        cr_assert(!cgroup_decide(&p, why, sizeof(why)));
        cr_assert(strstr(why, "/sys/fs/cgroup/system.slice/u.service is not delegated"), "%s", why);
}

/* ---- on a plain directory ------------------------------------------------------- */

static char *dir;

static void put(const char *name, const char *text)
{
        FILE *f = fopen(join(dir, name), "we");

        cr_assert_not_null(f, "%s", name);
        fputs(text, f);
        cr_assert_eq(fclose(f), 0);
}

static char *get(const char *name, char *buf, size_t size)
{
        int fd = open(join(dir, name), O_RDONLY | O_CLOEXEC);
        ssize_t n;

        cr_assert_geq(fd, 0, "%s", name);
        n = read(fd, buf, size - 1);
        close(fd);
        buf[n < 0 ? 0 : n] = '\0';
        return buf;
}

static bool exists(const char *name)
{
        struct stat st;

        return lstat(join(dir, name), &st) == 0;
}

/* A stand-in cgroup: memory and pids available, a supervisor leaf. */
static void fake_init(void)
{
        dir = make_tmpdir();
        put("cgroup.controllers", "cpuset io memory pids\n");
        put("cgroup.subtree_control", "");
        cr_assert_eq(mkdir(join(dir, "supervisor"), 0755), 0);
        put("supervisor/cgroup.procs", "");
}

static void fake_fini(void)
{
        rm_rf(dir);
        free(dir);
}

static struct cgroup_tree *open_fake(void)
{
        struct cgroup_tree *t = NULL;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        cr_assert_geq(fd, 0);
        cr_assert_eq(cgroup_tree_open_at(NULL, fd, dir, &t), 0);
        return t;
}

TestSuite(cgroup_tree, .init = fake_init, .fini = fake_fini);

Test(cgroup_tree, moves_itself_into_the_supervisor_leaf_and_enables_controllers)
{
        struct cgroup_tree *t = open_fake();
        char buf[64];

        cr_assert(cgroup_tree_active(t), "%s", cgroup_tree_why(t));
        cr_assert_str_eq(get("supervisor/cgroup.procs", buf, sizeof(buf)), "0");
        /* a plain file keeps only the last write: +pids after +memory */
        cr_assert(strncmp(get("cgroup.subtree_control", buf, sizeof(buf)), "+pids", 5) == 0, "%s", buf);
        cgroup_tree_free(t);
}

static void count_err(void *userdata, const char *file, unsigned line, const char *msg)
{
        char *out = userdata;

        snprintf(out + strlen(out), 4096 - strlen(out), "%s:%u: %s\n", file, line, msg);
}

Test(cgroup_tree, a_missing_controller_is_an_error_naming_the_key_and_its_line)
{
        struct cgroup_tree *t = open_fake();
        struct cfg_worker w[2] = { worker("a"), worker("b") };
        struct config c = { .file = (char *)"x.conf", .workers = w, .n_workers = 2 };
        char out[4096] = "";

        w[0].memory_max = 1 << 20;
        w[0].memory_max_line = w[0].cgroup_line = 5;
        w[0].cgroup_key = "memory-max";
        w[1].pids_max = 10;
        w[1].pids_max_line = w[1].cgroup_line = 9;
        w[1].cpu_weight = 20;
        w[1].cpu_weight_line = 10;
        w[1].cgroup_key = "pids-max";
        cr_assert_eq(cgroup_check(t, &c, count_err, out), 1u, "%s", out);
        cr_assert(strstr(out, "x.conf:10: cpu-weight: needs the cpu controller, which "), "%s", out);
        cr_assert(strstr(out, "does not have (cgroup.controllers)"), "%s", out);
        cgroup_tree_free(t);
}

Test(cgroup_tree, without_delegation_every_worker_with_a_key_is_an_error)
{
        struct cgroup_tree *t = NULL;
        struct cfg_worker w[2] = { worker("a"), worker("b") };
        struct config c = { .file = (char *)"x.conf", .workers = w, .n_workers = 2 };
        char out[4096] = "";
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        /* no supervisor leaf to move into: set-up fails, no cgroups */
        rm_rf(join(dir, "supervisor"));
        cr_assert_eq(symlink("/tmp", join(dir, "supervisor")), 0);
        cr_assert_eq(cgroup_tree_open_at(NULL, fd, dir, &t), 0);
        cr_assert(!cgroup_tree_active(t));
        cr_assert(strstr(cgroup_tree_why(t), "/supervisor"), "%s", cgroup_tree_why(t));
        w[1].memory_max = CFG_INFINITY; /* memory-max = infinity is a key set all the same */
        w[1].cgroup_line = 7;
        w[1].cgroup_key = "memory-max";
        cr_assert_eq(cgroup_check(t, &c, count_err, out), 1u, "%s", out);
        cr_assert(strstr(out, "x.conf:7: memory-max: needs a delegated cgroup (Delegate=yes in the unit): "), "%s", out);
        cr_assert(strstr(out, "/supervisor"), "%s", out);
        cgroup_tree_free(t);
}

Test(cgroup_tree, a_symlink_in_place_of_the_supervisor_leaf_is_not_followed)
{
        struct cgroup_tree *t = NULL;
        char *elsewhere = make_tmpdir();
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        rm_rf(join(dir, "supervisor"));
        cr_assert_eq(symlink(elsewhere, join(dir, "supervisor")), 0);
        cr_assert_eq(cgroup_tree_open_at(NULL, fd, dir, &t), 0);
        cr_assert(!cgroup_tree_active(t));
        cr_assert_eq(count_dir_entries(elsewhere), 0, "nothing was written through it");
        cgroup_tree_free(t);
        rm_rf(elsewhere);
        free(elsewhere);
}

Test(cgroup_tree, one_subcgroup_per_worker_object_the_lowest_generation_free)
{
        struct cgroup_tree *t = open_fake();
        struct cfg_worker w = worker("echo");
        struct cgroup *a, *b, *c;
        struct stat st;

        cr_assert_eq(cgroup_new(t, &w, &a), 0);
        cr_assert_str_eq(cgroup_name(a), "worker-echo");
        cr_assert_eq(stat(join(dir, "worker-echo"), &st), 0);
        cr_assert(S_ISDIR(st.st_mode));
        cr_assert_geq(cgroup_fd(a), 0);
        cr_assert(fd_is_cloexec(cgroup_fd(a)));
        /* a reload replaces it while the old one's processes finish */
        cr_assert_eq(cgroup_new(t, &w, &b), 0);
        cr_assert_str_eq(cgroup_name(b), "worker-echo@2");
        cgroup_release(a, 0);
        cr_assert(!exists("worker-echo"), "an empty cgroup goes with its worker");
        cr_assert_eq(cgroup_new(t, &w, &c), 0);
        cr_assert_str_eq(cgroup_name(c), "worker-echo");
        cgroup_release(b, 0);
        cgroup_release(c, 0);
        cr_assert(!exists("worker-echo@2") && !exists("worker-echo"));
        cgroup_tree_free(t);
}

Test(cgroup_tree, a_limit_that_cannot_be_written_fails_and_leaves_no_directory)
{
        struct cgroup_tree *t = open_fake();
        struct cfg_worker w = worker("big");
        struct cgroup *cg = (struct cgroup *)1;

        w.memory_max = 1 << 20; /* a plain directory has no memory.max */
        cr_assert_eq(cgroup_new(t, &w, &cg), -ENOENT);
        cr_assert_null(cg);
        cr_assert(!exists("worker-big"));
        cgroup_tree_free(t);
}

Test(cgroup_tree, leftovers_of_an_earlier_run_are_removed_or_skipped)
{
        struct cgroup_tree *t;
        struct cfg_worker w = worker("busy");
        struct cgroup *cg;

        cr_assert_eq(mkdir(join(dir, "worker-old"), 0755), 0);
        cr_assert_eq(mkdir(join(dir, "worker-busy"), 0755), 0);
        put("worker-busy/cgroup.procs", ""); /* cannot be removed: stands for a busy one */
        cr_assert_eq(mkdir(join(dir, "other"), 0755), 0);
        t = open_fake();
        cr_assert(!exists("worker-old"));
        cr_assert(exists("worker-busy"));
        cr_assert(exists("other"), "not ours: left alone");
        cr_assert_eq(cgroup_new(t, &w, &cg), 0);
        cr_assert_str_eq(cgroup_name(cg), "worker-busy@2");
        cgroup_release(cg, 0);
        cgroup_tree_free(t);
}

Test(cgroup_tree, the_tree_is_never_populated_without_processes)
{
        struct cgroup_tree *t = open_fake();
        struct cfg_worker w = worker("p");
        struct cgroup *cg;

        cr_assert_eq(cgroup_new(t, &w, &cg), 0);
        cr_assert_eq(cgroup_tree_populated(t), 0u);
        put("worker-p/cgroup.events", "populated 1\nfrozen 0\n");
        cr_assert_eq(cgroup_tree_populated(t), 1u);
        cgroup_release(cg, 0); /* populated: stays, SIGTERM to none */
        cr_assert(exists("worker-p"));
        unlink(join(dir, "worker-p/cgroup.events"));
        cgroup_tree_gc(t);
        cr_assert(!exists("worker-p"), "gc removes it once empty");
        cgroup_tree_free(t);
}

static pid_t pause_child(void)
{
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        return pid;
}

Test(cgroup_signal, every_process_listed_in_cgroup_procs_gets_the_signal)
{
        pid_t a = pause_child(), b = pause_child();
        int fd, st;

        dir = make_tmpdir();
        put("cgroup.procs", fmt("%d\n%d\n", (int)a, (int)b));
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_eq(cgroup_signal_dir(fd, SIGTERM), 0);
        cr_assert_eq(waitpid(a, &st, 0), a);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
        cr_assert_eq(waitpid(b, &st, 0), b);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
        close(fd);
        fake_fini();
}

Test(cgroup_signal, sigkill_without_cgroup_kill_goes_over_cgroup_procs)
{
        pid_t a = pause_child();
        int fd, st;

        dir = make_tmpdir();
        put("cgroup.procs", fmt("%d\n", (int)a));
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_eq(cgroup_signal_dir(fd, SIGKILL), 0);
        cr_assert_eq(waitpid(a, &st, 0), a);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        close(fd);
        fake_fini();
}

Test(cgroup_signal, sigkill_writes_1_to_cgroup_kill_where_there_is_one)
{
        char buf[8];
        int fd;

        dir = make_tmpdir();
        put("cgroup.kill", "");
        put("cgroup.procs", "");
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_eq(cgroup_signal_dir(fd, SIGKILL), 0);
        cr_assert_str_eq(get("cgroup.kill", buf, sizeof(buf)), "1");
        close(fd);
        fake_fini();
}
