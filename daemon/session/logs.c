/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.hl.Logs in the session helper: a service's log streamed on the connection hld handed
 * over. A container whose init is systemd: its journal, read by journalctl inside (as the
 * container's root, never parsed by the host), with hld's marks from the console log
 * merged by time. Any other: the console log the monitor writes (console.log.1, then
 * console.log), hld's marks in it where they happened. With follow, new lines as they
 * come, until the client leaves. docs/operating.md has the decisions. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hl-protocol.h"
#include "hl-stream.h"
#include "session.h"

#define MARK "-- hl "
#define BATCH_LINES 512
#define LINE_MAX_BYTES 8192
#define FOLLOW_MS 200

struct line {
        char *text;
        int64_t time; /* Unix seconds, 0 when the line has none (console output) */
        const char *source;
};

struct lines {
        struct line *v;
        size_t n, cap;
};

static void lines_done(struct lines *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].text);
        free(l->v);
        *l = (struct lines) {};
}

static int64_t mark_time(const char *text) {
        struct tm tm = {};
        const char *end;

        if (strncmp(text, MARK, strlen(MARK)) != 0)
                return 0;
        end = strptime(text + strlen(MARK), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return end ? (int64_t) timegm(&tm) : 0;
}

/* journalctl -o short-iso: "2026-12-01T22:56:20+0000 host unit[pid]: message". */
static int64_t journal_time(const char *text) {
        struct tm tm = {};
        const char *end = strptime(text, "%Y-%m-%dT%H:%M:%S%z", &tm);

        return end ? (int64_t) timegm(&tm) - tm.tm_gmtoff : 0;
}

static int lines_add(struct lines *l, const char *s, size_t n, const char *source) {
        struct line x = { .source = source };

        if (n > LINE_MAX_BYTES)
                n = LINE_MAX_BYTES;
        x.text = hl_stream_clean_text(s, n);
        if (!x.text)
                return -ENOMEM;
        if (strcmp(source, "journal") == 0)
                x.time = journal_time(x.text);
        else if ((x.time = mark_time(x.text)) > 0)
                x.source = "hl";
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 256;
                struct line *v = realloc(l->v, cap * sizeof(*v));
                if (!v) {
                        free(x.text);
                        return -ENOMEM;
                }
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n++] = x;
        return 0;
}

/* Cuts buf[0..*len) into lines; what follows the last newline stays in buf. */
static int cut_lines(struct lines *l, char *buf, size_t *len, const char *source, bool marks_only) {
        size_t start = 0;

        for (size_t i = 0; i < *len; i++)
                if (buf[i] == '\n') {
                        if (!marks_only || mark_time(buf + start) > 0 ||
                            (i - start >= strlen(MARK) && strncmp(buf + start, MARK, strlen(MARK)) == 0))
                                if (lines_add(l, buf + start, i - start, source) < 0)
                                        return -ENOMEM;
                        start = i + 1;
                }
        /* A line longer than any kept is cut where the buffer ends. */
        if (*len - start > LINE_MAX_BYTES) {
                if (lines_add(l, buf + start, *len - start, source) < 0)
                        return -ENOMEM;
                start = *len;
        }
        memmove(buf, buf + start, *len - start);
        *len -= start;
        return 0;
}

static json_t *line_json(const struct line *x) {
        json_t *j = json_pack("{s:s, s:s}", "text", x->text, "source", x->source);

        if (j && x->time > 0)
                json_object_set_new(j, "time", json_integer(x->time));
        return j;
}

/* Sends lines [from, n): in replies of at most BATCH_LINES for a call with more (the last
 * one continues when more follow), else in one. */
static int send_lines(const struct lines *l, size_t from, bool more, bool continues) {
        size_t i = from;

        do {
                json_t *batch = json_array();
                for (size_t k = 0; batch && (!more || k < BATCH_LINES) && i < l->n; k++, i++)
                        json_array_append_new(batch, line_json(&l->v[i]));
                if (session_reply(json_pack("{s:o}", "lines", batch ? batch : json_array()), continues || i < l->n) < 0)
                        return -EPIPE; /* a reader that stopped: the stream ends */
        } while (i < l->n);
        return 0;
}

static int read_file(const char *path, char **buf, size_t *len, size_t *cap, off_t *ret_end, ino_t *ret_ino) {
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -EINVAL;
        }
        for (;;) {
                ssize_t n;
                if (*len == *cap) {
                        size_t c = *cap ? *cap * 2 : 65536;
                        char *p = realloc(*buf, c);
                        if (!p) {
                                close(fd);
                                return -ENOMEM;
                        }
                        *buf = p;
                        *cap = c;
                }
                n = read(fd, *buf + *len, *cap - *len);
                if (n <= 0)
                        break;
                *len += (size_t) n;
        }
        if (ret_end)
                *ret_end = lseek(fd, 0, SEEK_CUR);
        if (ret_ino)
                *ret_ino = st.st_ino;
        close(fd);
        return 1;
}

static int by_time(const void *a, const void *b) {
        const struct line *x = a, *y = b;

        return (x->time > y->time) - (x->time < y->time);
}

/* The selection: from the first line at or after since (a console line has no time of its
 * own, so a console log starts at the first mark of then), then the last lines. */
static size_t select_from(const struct lines *l, const struct spec *spec) {
        size_t from = 0;

        if (spec->since > 0) {
                from = l->n;
                for (size_t i = 0; i < l->n; i++)
                        if (l->v[i].time >= spec->since) {
                                from = i;
                                break;
                        }
        }
        if (spec->lines > 0 && l->n - from > (size_t) spec->lines)
                from = l->n - (size_t) spec->lines;
        return from;
}

static bool client_left(int timeout_ms) {
        struct pollfd p = { .fd = CLIENT_FD, .events = POLLIN };
        char buf[256];

        if (poll(&p, 1, timeout_ms) <= 0)
                return false;
        /* A stream takes no calls: whatever the client sends, or its end, ends it. */
        return read(CLIENT_FD, buf, sizeof(buf)) >= 0;
}

struct follower {
        char path[4096];
        int fd;
        ino_t ino;
        char *buf;
        size_t len, cap;
};

/* New bytes of the console log, across the monitor's move of a full one to .1 (the old
 * file is read to its end first, then the new one from its start). */
static int follow_read(struct follower *f, struct lines *out, bool marks_only) {
        struct stat st;

        for (;;) {
                char chunk[65536];
                ssize_t n;

                if (f->fd < 0) {
                        f->fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        if (f->fd < 0 || fstat(f->fd, &st) < 0)
                                return 0;
                        f->ino = st.st_ino;
                }
                while ((n = read(f->fd, chunk, sizeof(chunk))) > 0) {
                        if (f->len + (size_t) n > f->cap) {
                                size_t c = f->len + (size_t) n + 65536;
                                char *p = realloc(f->buf, c);
                                if (!p)
                                        return -ENOMEM;
                                f->buf = p;
                                f->cap = c;
                        }
                        memcpy(f->buf + f->len, chunk, (size_t) n);
                        f->len += (size_t) n;
                        if (cut_lines(out, f->buf, &f->len, "console", marks_only) < 0)
                                return -ENOMEM;
                }
                if (stat(f->path, &st) < 0)
                        return 0; /* moved, and the new one not made yet */
                if (st.st_ino != f->ino) {
                        close(f->fd);
                        f->fd = -1;
                        continue;
                }
                if (st.st_size < lseek(f->fd, 0, SEEK_CUR))
                        lseek(f->fd, 0, SEEK_SET); /* cut short: read again from its start */
                return 0;
        }
}

static bool runs_systemd(struct lxc_container *c) {
        char path[64], comm[32] = "";
        pid_t pid;
        FILE *f;

        if (!c || !c->is_running(c) || (pid = c->init_pid(c)) <= 0)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        if (!fgets(comm, sizeof(comm), f))
                comm[0] = 0;
        fclose(f);
        return strcmp(comm, "systemd\n") == 0;
}

/* journalctl inside, its stdout in s->out: the spec of that command. */
static int start_journal(struct lxc_container *c, const struct spec *spec, bool follow, struct session *s) {
        char since[32], lines[32];
        char *argv[10];
        int n = 0;

        argv[n++] = (char *) "journalctl";
        argv[n++] = (char *) "--no-pager";
        argv[n++] = (char *) "-q";
        argv[n++] = (char *) "-o";
        argv[n++] = (char *) "short-iso";
        if (follow) {
                argv[n++] = (char *) "-f";
                argv[n++] = (char *) "-n0";
        } else {
                if (spec->since > 0) {
                        snprintf(since, sizeof(since), "--since=@%lld", (long long) spec->since);
                        argv[n++] = since;
                }
                if (spec->lines > 0) {
                        snprintf(lines, sizeof(lines), "-n%lld", (long long) spec->lines);
                        argv[n++] = lines;
                }
        }
        argv[n] = NULL;
        struct spec j = { .lxcpath = spec->lxcpath, .name = spec->name, .mode = "exec", .argv = argv };
        *s = (struct session) { .master = -1, .in = -1, .out = -1, .err = -1, .pidfd = -1 };
        if (session_attach(c, &j, s) < 0)
                return -EIO;
        close(s->in);
        s->in = -1;
        return 0;
}

static int read_journal(struct session *s, struct lines *l, char **buf, size_t *len, size_t *cap, bool block) {
        for (;;) {
                struct pollfd p = { .fd = s->out, .events = POLLIN };
                ssize_t n;

                if (*len + 65536 > *cap) {
                        char *x = realloc(*buf, *cap + 65536 * 2);
                        if (!x)
                                return -ENOMEM;
                        *buf = x;
                        *cap += 65536 * 2;
                }
                int k = poll(&p, 1, block ? 30000 : 0);
                if (k == 0 && block)
                        return -ETIMEDOUT;
                if (k <= 0)
                        return 0;
                n = read(s->out, *buf + *len, *cap - *len);
                if (n == 0)
                        return 1; /* journalctl ended */
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                *len += (size_t) n;
                if (cut_lines(l, *buf, len, "journal", false) < 0)
                        return -ENOMEM;
        }
}

int logs_run(const struct spec *spec, struct lxc_container *c) {
        struct lines l = {}, fresh = {};
        struct follower f = { .fd = -1 };
        char old[4096 + 8], *jbuf = NULL;
        size_t jlen = 0, jcap = 0;
        bool journal = runs_systemd(c);
        struct session js = { .master = -1, .in = -1, .out = -1, .err = -1, .pidfd = -1 };
        off_t end = 0;
        int r;

        snprintf(f.path, sizeof(f.path), "%s/%s/console.log", spec->lxcpath, spec->name);
        snprintf(old, sizeof(old), "%s.1", f.path);
        if (journal) {
                if (start_journal(c, spec, false, &js) < 0) {
                        session_fail(HL_ERROR_ACTION_FAILED, "could not run journalctl in %s", spec->name);
                        return 1;
                }
                session_set_nonblock(js.out);
                while ((r = read_journal(&js, &l, &jbuf, &jlen, &jcap, true)) == 0)
                        ;
                session_wait(&js, 5000);
                close(js.out);
                close(js.err);
                close(js.pidfd);
                jlen = 0;
        }
        {
                char *buf = NULL;
                size_t len = 0, cap = 0;
                ino_t ino = 0;
                r = read_file(old, &buf, &len, &cap, NULL, NULL);
                if (r >= 0)
                        r = read_file(f.path, &buf, &len, &cap, &end, &ino);
                if (r >= 0) {
                        if (len && buf[len - 1] != '\n' && (len < cap || (buf = realloc(buf, cap + 1))))
                                buf[len++] = '\n';
                        r = cut_lines(&l, buf, &len, "console", journal);
                }
                free(buf);
                if (r < 0) {
                        session_fail(HL_ERROR_INTERNAL, "cannot read the console log of %s: %s", spec->name, strerror(-r));
                        lines_done(&l);
                        return 1;
                }
                f.ino = ino;
        }
        if (journal)
                qsort(l.v, l.n, sizeof(*l.v), by_time);
        send_lines(&l, select_from(&l, spec), spec->more, spec->follow);
        lines_done(&l);
        if (!spec->follow) {
                free(jbuf);
                printf("{\"exit\":0}\n");
                return 0;
        }

        /* Following: the console log from where it was read, and journalctl -f. */
        f.fd = open(f.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (f.fd >= 0) {
                struct stat st;
                if (fstat(f.fd, &st) == 0 && st.st_ino == f.ino && st.st_size >= end)
                        lseek(f.fd, end, SEEK_SET);
                else if (fstat(f.fd, &st) == 0)
                        f.ino = st.st_ino; /* a new file since: all of it is new */
        }
        if (journal && start_journal(c, spec, true, &js) == 0)
                session_set_nonblock(js.out);
        else
                js.out = -1;
        for (;;) {
                if (client_left(FOLLOW_MS))
                        break;
                if (follow_read(&f, &fresh, journal) < 0)
                        break;
                if (js.out >= 0 && read_journal(&js, &fresh, &jbuf, &jlen, &jcap, false) != 0) {
                        close(js.out);
                        js.out = -1;
                }
                if (fresh.n) {
                        r = send_lines(&fresh, 0, true, true);
                        lines_done(&fresh);
                        if (r < 0)
                                break;
                }
        }
        if (js.pid > 0) {
                kill(js.pid, SIGTERM);
                session_wait(&js, 2000);
        }
        lines_done(&fresh);
        free(f.buf);
        free(jbuf);
        if (f.fd >= 0)
                close(f.fd);
        printf("{\"exit\":0,\"gone\":true}\n");
        return 0;
}
