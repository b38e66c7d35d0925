/* A worker that reports what it was given: fds, environment, ids, signal
 * state, session. The integration tests read its report from the connection.
 *   probe-worker          report and exit
 *   probe-worker stderr   also write "probe-stderr-line" to stderr
 *   probe-worker exit N   report, then exit with status N */
#include <dirent.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

extern char **environ;

static void status_field(const char *key)
{
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];

        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, key, strlen(key)) == 0)
                        printf("%s", line);
        if (f)
                fclose(f);
}

int main(int argc, char **argv)
{
        char cwd[4096];
        gid_t groups[256];
        int n, type;
        socklen_t len = sizeof(type);
        DIR *d;
        struct dirent *e;

        /* fds first, before this program opens anything of its own */
        d = opendir("/proc/self/fd");
        printf("fds=");
        while (d && (e = readdir(d)))
                if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
                        printf("%s,", e->d_name);
        printf("\n");
        if (d)
                closedir(d);
        printf("pid=%d\npgid=%d\nsid=%d\n", (int)getpid(), (int)getpgrp(), (int)getsid(0));
        printf("uid=%u\ngid=%u\n", (unsigned)getuid(), (unsigned)getgid());
        n = getgroups(256, groups);
        printf("groups=");
        for (int i = 0; i < n; i++)
                printf("%u,", (unsigned)groups[i]);
        printf("\n");
        printf("cwd=%s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
        printf("stdin_socket=%d\n", getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM);
        status_field("SigBlk:");
        status_field("SigIgn:");
        for (char **env = environ; *env; env++)
                printf("env:%s\n", *env);
        printf("end\n");
        fflush(stdout);
        if (argc > 1 && strcmp(argv[1], "stderr") == 0)
                fprintf(stderr, "probe-stderr-line\n");
        if (argc > 2 && strcmp(argv[1], "exit") == 0)
                return atoi(argv[2]);
        return 0;
}
