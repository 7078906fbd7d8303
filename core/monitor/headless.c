/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Daemonizing, pid file and signals for headless operation (see headless.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib-unix.h>
#include "monitor/headless.h"
#include "monitor/monitor-internal.h"
#include "loop/loop.h"

static int ready_fd = -1;   /* daemon -> foreground parent */
static gboolean daemonized;
static int pid_fd = -1;
static char *pid_path;

static void write_all(int fd, const void *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf = (const char *)buf + n;
        len -= n;
    }
}

gboolean headless_daemonize(GError **err)
{
    int fds[2];
    if (pipe(fds) < 0) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "--daemonize: pipe: %s",
                    g_strerror(errno));
        return FALSE;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "--daemonize: fork: %s",
                    g_strerror(errno));
        return FALSE;
    }
    if (pid > 0) {
        /* Foreground parent: wait for the daemon's word. */
        close(fds[1]);
        char c;
        ssize_t n;
        do
            n = read(fds[0], &c, 1);
        while (n < 0 && errno == EINTR);
        int status;
        waitpid(pid, &status, 0); /* the intermediate child exits at once */
        _exit(n == 1 ? 0 : 1);
    }
    close(fds[0]);
    if (setsid() < 0)
        _exit(1);
    pid = fork();
    if (pid < 0)
        _exit(1);
    if (pid > 0)
        _exit(0); /* the daemon is not a session leader: it never gets a terminal back */
    ready_fd = fds[1];
    daemonized = TRUE;
    umask(027);
    return TRUE;
}

gboolean headless_daemonized(void)
{
    return daemonized;
}

void headless_daemon_ready(void)
{
    if (ready_fd < 0)
        return;
    fflush(NULL);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        struct stat st;
        /* Keep a stderr redirected to a file (the user asked for it); drop a terminal
         * or pipe, whose reader may be gone. */
        if (fstat(STDERR_FILENO, &st) != 0 || !S_ISREG(st.st_mode))
            dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    write_all(ready_fd, "R", 1);
    close(ready_fd);
    ready_fd = -1;
}

gboolean headless_write_pidfile(const char *path, GError **err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "--pidfile %s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        char buf[32] = "";
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        g_strchomp(buf);
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "--pidfile %s: another mosaic (pid %s) is running with this pid file; stop it "
                    "or choose another file", path, *buf ? buf : "?");
        close(fd);
        return FALSE;
    }
    char line[32];
    int len = g_snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, line, len, 0) != len) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "--pidfile %s: %s", path,
                    g_strerror(errno));
        close(fd);
        return FALSE;
    }
    pid_fd = fd;
    g_free(pid_path);
    /* Absolute: the daemon may change directory later. */
    pid_path = g_canonicalize_filename(path, NULL);
    return TRUE;
}

void headless_remove_pidfile(void)
{
    if (pid_fd < 0)
        return;
    unlink(pid_path);
    close(pid_fd);
    pid_fd = -1;
    g_clear_pointer(&pid_path, g_free);
}

static HeadlessQuitFn *quit_fn;

static gboolean on_term(gpointer data)
{
    static gboolean again;
    int signo = GPOINTER_TO_INT(data);
    if (again || !quit_fn || !quit_fn("host-signal")) {
        fprintf(stderr, "mosaic: terminating on signal %d\n", signo);
        headless_remove_pidfile();
        _exit(again ? 1 : 0);
    }
    again = TRUE;
    g_log(MONITOR_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "terminating on signal %d", signo);
    return G_SOURCE_CONTINUE;
}

void headless_install_signals(HeadlessQuitFn *quit)
{
    quit_fn = quit;
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    /* g_unix_signal_source: the handler only wakes the loop; the work runs there. */
    int sigs[] = {SIGTERM, SIGINT};
    for (guint i = 0; i < G_N_ELEMENTS(sigs); i++) {
        GSource *s = g_unix_signal_source_new(sigs[i]);
        g_source_set_callback(s, on_term, GINT_TO_POINTER(sigs[i]), NULL);
        g_source_attach(s, loop_context());
        g_source_unref(s);
    }
}
