/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.hl.Push and io.hl.Pull in the session helper: a file copied into or out of a running
 * container as pct push and pull do. The path is opened by a process attached to the
 * container (its mount namespace, its root, its user namespace), which hands the open file
 * to this helper: every symlink and ".." resolves inside the container as its own programs
 * see it, mounts included, and nothing of the host can be reached or written through it.
 * A push lands under a temporary name beside its target, synced and renamed into place
 * only when every byte came: an interrupted push leaves the old file as it was. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hl-protocol.h"
#include "hl-stream.h"
#include "session.h"

struct opened {
        int error; /* errno of the open, 0 when an fd came */
        mode_t mode;
        uid_t uid;
        gid_t gid;
        int64_t size;
        char message[256];
};

struct file_child {
        const struct spec *spec;
        int sock;
};

static void child_answer(int sock, int fd, const struct opened *o) {
        session_send_fd(sock, fd, o, sizeof(*o));
}

static int child_fail_errno(int sock, int error, const char *what, const char *path) {
        struct opened o = { .error = error };

        snprintf(o.message, sizeof(o.message), "%s %.160s: %s", what, path, strerror(error));
        child_answer(sock, -1, &o);
        return 1;
}

/* Whom a pushed file belongs to: --user as exec takes it, root by default. */
static int owner_of(const char *user, uid_t *ret_uid, gid_t *ret_gid) {
        struct passwd_entry pw;
        char *end = NULL;
        unsigned long uid;

        *ret_uid = 0;
        *ret_gid = 0;
        if (!user)
                return 0;
        uid = strtoul(user, &end, 10);
        if (end != user && (*end == 0 || *end == ':')) {
                *ret_uid = (uid_t) uid;
                *ret_gid = *end == ':' ? (gid_t) strtoul(end + 1, NULL, 10)
                                       : session_passwd_find(NULL, (uid_t) uid, &pw) ? pw.gid : (gid_t) uid;
                return 0;
        }
        if (!session_passwd_find(user, 0, &pw))
                return -ESRCH;
        *ret_uid = pw.uid;
        *ret_gid = pw.gid;
        return 0;
}

/* In the container: opens, hands the fd over, and (a push) renames when told to. */
static int file_child_main(void *payload) {
        struct file_child *a = payload;
        const struct spec *s = a->spec;
        struct opened o = {};
        struct stat st;
        int fd;

        /* The client's connection is the helper's alone (see child_main). */
        close(CLIENT_FD);
        if (strcmp(s->mode, "pull") == 0) {
                fd = open(s->path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
                if (fd < 0)
                        return child_fail_errno(a->sock, errno, "cannot open", s->path);
                if (fstat(fd, &st) < 0)
                        return child_fail_errno(a->sock, errno, "cannot pull", s->path);
                if (!S_ISREG(st.st_mode))
                        return child_fail_errno(a->sock, S_ISDIR(st.st_mode) ? EISDIR : EINVAL, "cannot pull", s->path);
                o = (struct opened) { .mode = st.st_mode & 07777, .uid = st.st_uid, .gid = st.st_gid, .size = st.st_size };
                child_answer(a->sock, fd, &o);
                return 0;
        } else {
                char temp[PATH_MAX + 32], *slash = strrchr(s->path, '/');
                char dir[PATH_MAX];
                uid_t uid;
                gid_t gid;
                char verdict = 0;
                int dfd;

                if (!slash || (size_t) (slash - s->path) >= sizeof(dir))
                        return child_fail_errno(a->sock, EINVAL, "cannot push to", s->path);
                snprintf(dir, sizeof(dir), "%.*s", slash == s->path ? 1 : (int) (slash - s->path), s->path);
                if (stat(s->path, &st) == 0 && S_ISDIR(st.st_mode))
                        return child_fail_errno(a->sock, EISDIR, "cannot push to", s->path);
                if (owner_of(s->user, &uid, &gid) < 0) {
                        o.error = ESRCH;
                        snprintf(o.message, sizeof(o.message), "no user %.64s in the container's /etc/passwd", s->user);
                        child_answer(a->sock, -1, &o);
                        return 1;
                }
                snprintf(temp, sizeof(temp), "%s/.hl-push.%d", strcmp(dir, "/") == 0 ? "" : dir, (int) getpid());
                fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return child_fail_errno(a->sock, errno, "cannot write in", dir);
                if (fchown(fd, uid, gid) < 0 || fchmod(fd, (mode_t) s->file_mode & 07777) < 0) {
                        int e = errno;
                        unlink(temp);
                        return child_fail_errno(a->sock, e, "cannot set the owner and mode of", s->path);
                }
                child_answer(a->sock, fd, &o);
                close(fd);
                /* The helper writes and syncs; then 'c' renames, anything else drops it. */
                if (read(a->sock, &verdict, 1) != 1 || verdict != 'c') {
                        unlink(temp);
                        return 1;
                }
                if (rename(temp, s->path) < 0) {
                        int e = errno;
                        unlink(temp);
                        return child_fail_errno(a->sock, e, "cannot rename into", s->path);
                }
                dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd >= 0) {
                        fsync(dfd);
                        close(dfd);
                }
                o = (struct opened) {};
                child_answer(a->sock, -1, &o);
                return 0;
        }
}

static int send_frame(enum hl_stream_type type, const void *data, size_t len) {
        char header[HL_STREAM_HEADER];

        hl_stream_header(header, type, len);
        if (session_write_all(CLIENT_FD, header, sizeof(header)) < 0 || session_write_all(CLIENT_FD, data, len) < 0)
                return -EPIPE;
        return 0;
}

static void end_session(int status, const char *error) {
        char text[32];

        if (error)
                send_frame(HL_STREAM_STDERR, error, strlen(error));
        snprintf(text, sizeof(text), "exit %d", status);
        send_frame(HL_STREAM_EXIT, text, strlen(text));
        shutdown(CLIENT_FD, SHUT_WR);
        printf("{\"exit\":%d}\n", status);
}

/* The client's bytes into fd, until its empty stdin frame: 0, -EPIPE when it left. */
static int receive_into(int fd) {
        char *buf = malloc(2 * (HL_STREAM_MAX_PAYLOAD + HL_STREAM_HEADER));
        size_t len = 0, cap = 2 * (HL_STREAM_MAX_PAYLOAD + HL_STREAM_HEADER);
        int r = -EPIPE;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                struct hl_stream_frame f;
                size_t used;
                ssize_t n;
                int k;

                while ((k = hl_stream_next(buf, len, &f, &used)) > 0) {
                        if (f.type == HL_STREAM_SIGNAL) {
                                r = -ECANCELED; /* Ctrl-C on the client: nothing lands */
                                goto out;
                        }
                        if (f.type != HL_STREAM_STDIN) {
                                r = -EBADMSG;
                                goto out;
                        }
                        if (f.len == 0) {
                                r = 0;
                                goto out;
                        }
                        for (size_t done = 0; done < f.len;) {
                                ssize_t w = write(fd, f.data + done, f.len - done);
                                if (w < 0 && errno == EINTR)
                                        continue;
                                if (w <= 0) {
                                        r = -errno;
                                        goto out;
                                }
                                done += (size_t) w;
                        }
                        memmove(buf, buf + used, len - used);
                        len -= used;
                }
                if (k < 0) {
                        r = -EBADMSG;
                        goto out;
                }
                {
                        struct pollfd p = { .fd = CLIENT_FD, .events = POLLIN };
                        if (poll(&p, 1, SESSION_WRITE_TIMEOUT_MS) <= 0)
                                goto out;
                }
                n = read(CLIENT_FD, buf + len, cap - len);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n <= 0)
                        goto out;
                len += (size_t) n;
        }
out:
        free(buf);
        return r;
}

/* The attached child's end: it finishes what it was told (a rename, or the removal of its
 * temporary file) within 5 s, or it hangs on what the container made of its files and is
 * killed. */
static void reap(pid_t pid) {
        int status;

        for (int i = 0; i < 500; i++) {
                if (waitpid(pid, &status, WNOHANG) != 0)
                        return;
                usleep(10000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
}

int files_run(const struct spec *spec, struct lxc_container *c) {
        lxc_attach_options_t options = LXC_ATTACH_OPTIONS_DEFAULT;
        int fds[2], fd = -1, r;
        struct file_child args = { .spec = spec };
        struct opened o = {};
        bool push = strcmp(spec->mode, "push") == 0;
        pid_t pid = -1;

        if (!c || !c->is_running(c)) {
                session_fail(HL_ERROR_ACTION_FAILED, "%s is not running", spec->name);
                return 1;
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
                session_fail(HL_ERROR_INTERNAL, "cannot make a socket pair: %s", strerror(errno));
                return 1;
        }
        args.sock = fds[1];
        options.env_policy = LXC_ATTACH_CLEAR_ENV;
        /* Its stdio: nothing of hld's (the outcome pipe, the log). */
        {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                options.stdin_fd = options.stdout_fd = options.stderr_fd = null;
                r = c->attach(c, file_child_main, &args, &options, &pid);
                if (null >= 0)
                        close(null);
        }
        close(fds[1]);
        if (r < 0 || pid <= 0) {
                session_fail(HL_ERROR_ACTION_FAILED, "could not attach to %s", spec->name);
                return 1;
        }
        if (session_recv_fd(fds[0], 30000, &o, sizeof(o), &fd) != (ssize_t) sizeof(o) || o.error) {
                session_fail(HL_ERROR_ACTION_FAILED, "%s", o.error ? o.message : "the container did not open the file");
                reap(pid);
                close(fds[0]);
                if (fd >= 0)
                        close(fd);
                return 1;
        }
        if (!push) {
                char buf[HL_STREAM_MAX_PAYLOAD];
                ssize_t n;

                session_reply(json_pack("{s:i, s:i, s:i, s:I}", "mode", (int) o.mode, "uid", (int) o.uid, "gid",
                                        (int) o.gid, "size", (json_int_t) o.size),
                              false);
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        if (send_frame(HL_STREAM_STDOUT, buf, (size_t) n) < 0)
                                break;
                if (n == 0)
                        end_session(0, NULL);
                else
                        end_session(1, n < 0 ? "hlctl: the file could not be read to its end\n" : NULL);
        } else {
                char verdict;
                session_reply(json_object(), false);
                r = receive_into(fd);
                if (r == 0 && fsync(fd) < 0)
                        r = -errno;
                verdict = r == 0 ? 'c' : 'a';
                (void) !write(fds[0], &verdict, 1);
                if (r == 0) {
                        int none;
                        o = (struct opened) { .error = EIO };
                        if (session_recv_fd(fds[0], 30000, &o, sizeof(o), &none) != (ssize_t) sizeof(o))
                                o.error = EIO;
                        if (none >= 0)
                                close(none);
                        if (o.error) {
                                char message[300];
                                snprintf(message, sizeof(message), "hlctl: %s\n", o.message[0] ? o.message : "the file could not be put in place");
                                end_session(1, message);
                        } else
                                end_session(0, NULL);
                } else if (r != -EPIPE) {
                        char message[256];
                        snprintf(message, sizeof(message), "hlctl: cannot write %s: %s\n", spec->path, strerror(-r));
                        end_session(1, message);
                } else
                        printf("{\"exit\":1,\"gone\":true}\n");
        }
        close(fd);
        close(fds[0]);
        reap(pid);
        return 0;
}
