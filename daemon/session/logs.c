/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.hl.Logs in the session helper: a service's log streamed on the connection hld handed
 * over. A container whose init is systemd: its journal, read by journalctl inside (as the
 * container's root, never parsed by the host), with hld's marks merged by time. Any other:
 * the console log the monitor writes (console.log.1, then console.log), hld's marks put
 * back where the log stood when each was made. With follow, new lines as they come, until
 * the client leaves. The marks are hld's own file (daemon/logs.c): nothing a container
 * prints can pass for one. docs/operating.md has the decisions. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include "hl-util.h"
#include "session.h"

#define BATCH_LINES 512
#define LINE_MAX_BYTES 8192
#define FOLLOW_MS 200
/* What one answer holds at most (a journalctl that prints without end is cut there). */
#define KEEP_LINES 200000
#define KEEP_BYTES (32u * 1024u * 1024u)
#define ONE_REPLY_BYTES (2u * 1024u * 1024u) /* without "more": the newest lines that fit */
#define MARKS "hl-marks"

struct line {
        char *text;
        int64_t time; /* Unix seconds, 0 when the line has none (console output) */
        const char *source;
};

struct lines {
        struct line *v;
        size_t n, cap, bytes;
};

static void lines_done(struct lines *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].text);
        free(l->v);
        *l = (struct lines) {};
}

/* journalctl -o short-iso: "2026-12-01T22:56:20+0000 host unit[pid]: message". */
static int64_t journal_time(const char *text) {
        struct tm tm = {};
        const char *end = strptime(text, "%Y-%m-%dT%H:%M:%S%z", &tm);

        return end ? (int64_t) timegm(&tm) - tm.tm_gmtoff : 0;
}

/* Takes text (malloc'd). -E2BIG past what one answer keeps. */
static int lines_push(struct lines *l, char *text, int64_t time, const char *source) {
        if (!text)
                return -ENOMEM;
        if (l->n >= KEEP_LINES || l->bytes + strlen(text) > KEEP_BYTES) {
                free(text);
                return -E2BIG;
        }
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 256;
                struct line *v = realloc(l->v, cap * sizeof(*v));
                if (!v) {
                        free(text);
                        return -ENOMEM;
                }
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n++] = (struct line) { .text = text, .time = time, .source = source };
        l->bytes += strlen(text);
        return 0;
}

static int lines_add(struct lines *l, const char *s, size_t n, const char *source) {
        char *text = hl_stream_clean_text(s, n > LINE_MAX_BYTES ? LINE_MAX_BYTES : n);

        return lines_push(l, text, text && strcmp(source, "journal") == 0 ? journal_time(text) : 0, source);
}

/* A mark as it is shown: "-- hl 2026-12-01T22:56:20Z restart: … --". */
static int add_mark(struct lines *l, int64_t time, const char *text) {
        char stamp[32];
        struct tm tm;
        time_t t = (time_t) time;
        _cleanup_free_ char *clean = hl_stream_clean_text(text, strlen(text));

        if (!clean)
                return -ENOMEM;
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return lines_push(l, hl_strdup_printf("-- hl %s %s --", stamp, clean), time, "hl");
}

struct mark {
        int64_t time;
        uint64_t ino;
        int64_t offset;
        char *text;
        bool shown;
};

struct marks {
        struct mark *v;
        size_t n;
};

static void marks_done(struct marks *m) {
        for (size_t i = 0; i < m->n; i++)
                free(m->v[i].text);
        free(m->v);
        *m = (struct marks) {};
}

/* One line of hld's marks file: "TIME INODE OFFSET TEXT". */
static int parse_mark(const char *line, size_t len, struct mark *ret) {
        char buf[1100];
        long long time, offset;
        unsigned long long ino;
        int used = 0;

        if (len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, line, len);
        buf[len] = 0;
        if (sscanf(buf, "%lld %llu %lld %n", &time, &ino, &offset, &used) != 3 || used <= 0 || time <= 0)
                return -EINVAL;
        *ret = (struct mark) { .time = time, .ino = ino, .offset = offset, .text = strdup(buf + used) };
        return ret->text ? 0 : -ENOMEM;
}

/* Complete lines of buf[0..*len) as marks; the rest stays in buf. */
static int cut_marks(struct marks *m, char *buf, size_t *len) {
        size_t start = 0;

        for (size_t i = 0; i < *len; i++)
                if (buf[i] == '\n') {
                        struct mark x;
                        if (parse_mark(buf + start, i - start, &x) == 0) {
                                struct mark *v = realloc(m->v, (m->n + 1) * sizeof(*v));
                                if (!v) {
                                        free(x.text);
                                        return -ENOMEM;
                                }
                                m->v = v;
                                m->v[m->n++] = x;
                        }
                        start = i + 1;
                }
        memmove(buf, buf + start, *len - start);
        *len -= start;
        return 0;
}

static int read_file(const char *path, size_t max, char **buf, size_t *len, off_t *ret_end, ino_t *ret_ino) {
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        struct stat st;
        size_t cap;

        *buf = NULL;
        *len = 0;
        if (ret_ino)
                *ret_ino = 0;
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -EINVAL;
        }
        cap = (size_t) st.st_size + 65536 < max ? (size_t) st.st_size + 65536 : max;
        *buf = malloc(cap + 1);
        if (!*buf) {
                close(fd);
                return -ENOMEM;
        }
        for (;;) {
                ssize_t n = *len < cap ? read(fd, *buf + *len, cap - *len) : 0;
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

static int read_marks(const char *dir, struct marks *m) {
        static const char *const names[] = { MARKS ".1", MARKS };

        for (size_t i = 0; i < 2; i++) {
                char path[4200];
                _cleanup_free_ char *buf = NULL;
                size_t len;
                int r;

                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                r = read_file(path, 1024 * 1024, &buf, &len, NULL, NULL);
                if (r < 0)
                        return r;
                if (r > 0 && cut_marks(m, buf, &len) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int add_marks_of(struct lines *l, struct marks *m, uint64_t ino, int64_t before) {
        for (size_t i = 0; i < m->n; i++)
                if (!m->v[i].shown && m->v[i].ino == ino && m->v[i].offset <= before) {
                        int r = add_mark(l, m->v[i].time, m->v[i].text);
                        if (r < 0)
                                return r;
                        m->v[i].shown = true;
                }
        return 0;
}

/* A console log's lines with the marks made while it was being written put where it stood. */
static int add_console(struct lines *l, struct marks *m, const char *buf, size_t len, uint64_t ino) {
        size_t start = 0;
        int r = 0;

        for (size_t i = 0; i <= len && r >= 0; i++)
                if (i == len || buf[i] == '\n') {
                        r = add_marks_of(l, m, ino, (int64_t) start);
                        if (r >= 0 && (i > start || i < len))
                                r = lines_add(l, buf + start, i - start, "console");
                        start = i + 1;
                }
        return r < 0 ? r : add_marks_of(l, m, ino, INT64_MAX);
}

/* Cuts buf[0..*len) into lines; what follows the last newline stays in buf. */
static int cut_lines(struct lines *l, char *buf, size_t *len, const char *source) {
        size_t start = 0;

        for (size_t i = 0; i < *len; i++)
                if (buf[i] == '\n') {
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
 * one continues when more follow), else in one of the newest that fit a frame. */
static int send_lines(const struct lines *l, size_t from, bool more, bool continues) {
        size_t i = from;

        if (!more) {
                size_t bytes = 0;
                for (i = l->n; i > from && bytes + strlen(l->v[i - 1].text) + 64 < ONE_REPLY_BYTES; i--)
                        bytes += strlen(l->v[i - 1].text) + 64;
        }
        do {
                json_t *batch = json_array();
                for (size_t k = 0; batch && (!more || k < BATCH_LINES) && i < l->n; k++, i++)
                        json_array_append_new(batch, line_json(&l->v[i]));
                if (session_reply(json_pack("{s:o}", "lines", batch ? batch : json_array()), continues || i < l->n) < 0)
                        return -EPIPE; /* a reader that stopped: the stream ends */
        } while (i < l->n);
        return 0;
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

/* Whether the client has gone. Whatever it sends is ignored (a stream takes no calls); its
 * end of writing only (a half-close) is no leaving: it still reads. */
static bool client_left(int timeout_ms, bool *shut) {
        struct pollfd p = { .fd = CLIENT_FD, .events = *shut ? 0 : POLLIN };
        char buf[256];
        ssize_t n;

        if (poll(&p, 1, timeout_ms) <= 0)
                return false;
        if (p.revents & (POLLHUP | POLLERR))
                return true;
        n = read(CLIENT_FD, buf, sizeof(buf));
        if (n == 0)
                *shut = true;
        return n < 0 && errno != EAGAIN && errno != EINTR;
}

/* A file followed as it grows, across its move to .1 (read to its end first, then the new
 * one from its start) and its truncation. */
struct follower {
        char path[4200];
        int fd;
        ino_t ino;
        char *buf;
        size_t len, cap;
};

static void follower_open_at(struct follower *f, ino_t ino, off_t end) {
        struct stat st;

        f->fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (f->fd < 0 || fstat(f->fd, &st) < 0)
                return;
        if (st.st_ino == ino && st.st_size >= end)
                lseek(f->fd, end, SEEK_SET);
        f->ino = st.st_ino; /* another file since it was read: all of it is new */
}

/* New bytes, handed to take (console lines, or marks). */
static int follow_read(struct follower *f, int (*take)(void *userdata, char *buf, size_t *len), void *userdata) {
        struct stat st;

        for (;;) {
                char chunk[65536];
                ssize_t n;

                if (f->fd < 0) {
                        f->fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
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
                        if (take(userdata, f->buf, &f->len) < 0)
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

static int take_console(void *userdata, char *buf, size_t *len) {
        return cut_lines(userdata, buf, len, "console");
}

static int take_marks(void *userdata, char *buf, size_t *len) {
        struct marks m = {};
        int r = cut_marks(&m, buf, len);

        for (size_t i = 0; r >= 0 && i < m.n; i++)
                r = add_mark(userdata, m.v[i].time, m.v[i].text);
        marks_done(&m);
        return r;
}

/* systemd as the container's init (its comm, which the container names: what follows is
 * its own journalctl's output, as bounded as anything else). */
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

/* journalctl inside, its stdout in s->out. */
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
                snprintf(lines, sizeof(lines), "-n%lld", (long long) (spec->lines > 0 ? spec->lines : KEEP_LINES));
                argv[n++] = lines;
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

static void stop_journal(struct session *s) {
        if (s->pid > 0) {
                kill(s->pid, SIGKILL);
                session_wait(s, -1);
        }
        if (s->out >= 0)
                close(s->out);
        if (s->err >= 0)
                close(s->err);
        if (s->pidfd >= 0)
                close(s->pidfd);
        *s = (struct session) { .master = -1, .in = -1, .out = -1, .err = -1, .pidfd = -1 };
}

/* journalctl's output into l: 1 at its end, 0 when it has nothing now (block: waits up to
 * 30 s for it), -errno (-E2BIG: more than an answer keeps). */
static int read_journal(struct session *s, struct lines *l, char **buf, size_t *len, size_t *cap, bool block) {
        for (;;) {
                struct pollfd p = { .fd = s->out, .events = POLLIN };
                ssize_t n;
                int k;

                if (*len + 65536 > *cap) {
                        char *x = realloc(*buf, *cap + 65536 * 2);
                        if (!x)
                                return -ENOMEM;
                        *buf = x;
                        *cap += 65536 * 2;
                }
                k = poll(&p, 1, block ? 30000 : 0);
                if (k == 0 && block)
                        return -ETIMEDOUT;
                if (k <= 0)
                        return 0;
                n = read(s->out, *buf + *len, *cap - *len);
                if (n == 0)
                        return 1;
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                *len += (size_t) n;
                if (cut_lines(l, *buf, len, "journal") < 0)
                        return -E2BIG;
        }
}

static int backlog(const struct spec *spec, struct lxc_container *c, bool journal, const char *dir, struct lines *l,
                   off_t *ret_end, ino_t *ret_ino) {
        struct marks m = {};
        int r = read_marks(dir, &m);

        if (r >= 0 && journal) {
                struct session js;
                char *jbuf = NULL;
                size_t jlen = 0, jcap = 0;

                if (start_journal(c, spec, false, &js) < 0) {
                        marks_done(&m);
                        return -EIO;
                }
                session_set_nonblock(js.out);
                while ((r = read_journal(&js, l, &jbuf, &jlen, &jcap, true)) == 0)
                        ;
                stop_journal(&js);
                free(jbuf);
                r = r == -E2BIG || r == -ETIMEDOUT ? 0 : r < 0 ? r : 0; /* what came is shown */
                for (size_t i = 0; r >= 0 && i < m.n; i++)
                        r = add_mark(l, m.v[i].time, m.v[i].text);
                if (r >= 0)
                        qsort(l->v, l->n, sizeof(*l->v), by_time);
        } else if (r >= 0) {
                static const char *const names[] = { "console.log.1", "console.log" };
                bool rotated = false;

                for (size_t i = 0; r >= 0 && i < 2; i++) {
                        char path[4200];
                        _cleanup_free_ char *buf = NULL;
                        size_t len;
                        ino_t ino;
                        off_t end = 0;

                        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                        r = read_file(path, 2 * 1024 * 1024, &buf, &len, &end, &ino);
                        if (r > 0 && i == 0)
                                rotated = true;
                        /* Marks from before the oldest log kept (the first start's, made
                         * before the monitor opened it) come first while nothing is lost. */
                        for (size_t k = 0; r >= 0 && i == 1 && !rotated && k < m.n; k++)
                                if (!m.v[k].shown && m.v[k].ino != (uint64_t) ino) {
                                        int q = add_mark(l, m.v[k].time, m.v[k].text);
                                        m.v[k].shown = true;
                                        if (q < 0)
                                                r = q;
                                }
                        if (r > 0)
                                r = add_console(l, &m, buf, len, ino);
                        if (i == 1) {
                                *ret_end = end;
                                *ret_ino = ino;
                        }
                }
                r = r == -E2BIG ? 0 : r;
        }
        marks_done(&m);
        return r < 0 ? r : 0;
}

int logs_run(const struct spec *spec, struct lxc_container *c) {
        struct lines l = {};
        struct follower console = { .fd = -1 }, marks = { .fd = -1 };
        struct session js = { .master = -1, .in = -1, .out = -1, .err = -1, .pidfd = -1 };
        bool journal = runs_systemd(c), shut = false;
        char dir[4096], *jbuf = NULL;
        size_t jlen = 0, jcap = 0;
        struct stat st;
        off_t end = 0;
        ino_t ino = 0;
        int r;

        snprintf(dir, sizeof(dir), "%s/%s", spec->lxcpath, spec->name);
        r = backlog(spec, c, journal, dir, &l, &end, &ino);
        if (r < 0) {
                session_fail(journal ? HL_ERROR_ACTION_FAILED : HL_ERROR_INTERNAL, "cannot read the log of %s: %s",
                             spec->name, journal && r == -EIO ? "journalctl could not run" : strerror(-r));
                lines_done(&l);
                return 1;
        }
        r = send_lines(&l, select_from(&l, spec), spec->more, spec->follow);
        lines_done(&l);
        if (!spec->follow || r < 0) {
                printf("{\"exit\":0}\n");
                return 0;
        }

        /* Following: the console log (or journalctl -f) and the marks, from where they
         * were read. */
        snprintf(marks.path, sizeof(marks.path), "%s/%s", dir, MARKS);
        marks.fd = open(marks.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (marks.fd >= 0 && fstat(marks.fd, &st) == 0) {
                marks.ino = st.st_ino;
                lseek(marks.fd, 0, SEEK_END);
        }
        if (journal) {
                if (start_journal(c, spec, true, &js) == 0)
                        session_set_nonblock(js.out);
        } else {
                snprintf(console.path, sizeof(console.path), "%s/console.log", dir);
                follower_open_at(&console, ino, end);
        }
        while (!client_left(FOLLOW_MS, &shut)) {
                r = follow_read(&marks, take_marks, &l);
                if (r >= 0 && !journal)
                        r = follow_read(&console, take_console, &l);
                if (r >= 0 && js.out >= 0 && read_journal(&js, &l, &jbuf, &jlen, &jcap, false) != 0)
                        stop_journal(&js);
                if (l.n) {
                        r = send_lines(&l, 0, true, true);
                        lines_done(&l);
                }
                if (r < 0)
                        break;
        }
        stop_journal(&js);
        lines_done(&l);
        free(console.buf);
        free(marks.buf);
        free(jbuf);
        if (console.fd >= 0)
                close(console.fd);
        if (marks.fd >= 0)
                close(marks.fd);
        printf("{\"exit\":0,\"gone\":true}\n");
        return 0;
}
