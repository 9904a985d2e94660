/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hl-util.h"
#include "output.h"
#include "reply.h"
#include "table.h"

static const char *format_size(json_t *o, const char *key, char *buf, size_t size) {
        int64_t v;

        if (!reply_int(o, key, &v) || v < 0)
                return "-";
        return hl_format_size((uint64_t) v, buf, size);
}

static const char *format_limit(int64_t v, char *buf, size_t size) {
        if (v <= 0)
                return "unlimited";
        return hl_format_size((uint64_t) v, buf, size);
}

static const char *format_limits(json_t *limits, char *buf, size_t size) {
        char memory[32], swap[32], cores[32];
        int64_t v;

        if (!limits)
                return "-";
        if (!reply_int(limits, "cores", &v))
                snprintf(cores, sizeof(cores), "-");
        else if (v <= 0)
                snprintf(cores, sizeof(cores), "unlimited");
        else
                snprintf(cores, sizeof(cores), "%" PRId64, v);
        snprintf(buf, size, "cores %s, memory %s, swap %s", cores,
                 reply_int(limits, "memory", &v) ? format_limit(v, memory, sizeof(memory)) : "-",
                 reply_int(limits, "swap", &v) ? format_limit(v, swap, sizeof(swap)) : "-");
        return buf;
}

/* Joins an array's strings with ", "; NULL (printed as "-") when there are none. */
static char *join_strings(json_t *array) {
        char *s = NULL;
        size_t len = 0;
        size_t i;
        json_t *v;

        json_array_foreach(array, i, v) {
                const char *e = json_string_value(v);
                size_t n;
                char *p;

                if (!e)
                        continue;
                n = strlen(e);
                p = realloc(s, len + n + 3);
                if (!p) {
                        free(s);
                        return NULL;
                }
                s = p;
                if (len > 0) {
                        memcpy(s + len, ", ", 2);
                        len += 2;
                }
                memcpy(s + len, e, n + 1);
                len += n;
        }
        return s;
}

static const char *action_symbol(const char *action) {
        static const struct {
                const char *name;
                const char *symbol;
        } table[] = {
                { "create", "+" },  { "update", "~" },   { "start", ">" },
                { "stop", "<" },    { "destroy", "-" },  { "restart", "*" },
                { "hold", "!" },    { "recreate", "#" }, { "snapshot", "@" },
                { "rollback", "^" }, { "delete-snapshot", "x" }, { "exec", "$" },
        };

        for (size_t i = 0; action && i < HL_ELEMENTSOF(table); i++)
                if (strcmp(table[i].name, action) == 0)
                        return table[i].symbol;
        return "?";
}

bool output_action_failed(json_t *action) {
        const char *result = reply_string(action, "result");

        return result && strcmp(result, "failed") == 0;
}

bool output_actions_failed(json_t *actions) {
        size_t i;
        json_t *a;

        json_array_foreach(actions, i, a)
                if (output_action_failed(a))
                        return true;
        return false;
}

/* One executed action as a row: "+ create", service, result, duration, reason (and the
 * error of a failed one). */
static int add_action_row(struct table *t, json_t *a) {
        _cleanup_free_ char *what = NULL, *why = NULL;
        const char *action = reply_string(a, "action"), *reason = reply_string(a, "reason"),
                   *error = reply_string(a, "error");
        char duration[32];

        what = hl_strdup_printf("%s %s", action_symbol(action), action ?: "-");
        if (error && *error)
                why = reason && *reason ? hl_strdup_printf("%s: %s", reason, error) : strdup(error);
        else
                why = strdup(reason ?: "-");
        if (!what || !why)
                return -ENOMEM;
        return table_add(t, what, reply_string(a, "service"), reply_string(a, "result"),
                         reply_format_duration(a, "duration_ms", duration, sizeof(duration)), why);
}

static int print_actions(json_t *actions) {
        _cleanup_(table_freep) struct table *t = table_new(5);
        size_t i;
        json_t *a;
        int r;

        if (!t)
                return -ENOMEM;
        table_align_right(t, 3);
        json_array_foreach(actions, i, a) {
                r = add_action_row(t, a);
                if (r < 0)
                        return r;
        }
        return table_print(t, stdout, NULL);
}

/* Held actions (a start the restart policy holds back, a recreate left to the operator)
 * are not failures: they are counted apart. */
static void print_action_summary(json_t *actions) {
        size_t ok = 0, failed = 0, skipped = 0, held = 0, i, n = json_array_size(actions);
        json_t *a;

        json_array_foreach(actions, i, a) {
                const char *result = reply_string(a, "result") ?: "";

                if (strcmp(result, "ok") == 0)
                        ok++;
                else if (strcmp(result, "failed") == 0)
                        failed++;
                else if (strcmp(result, "skipped") == 0)
                        skipped++;
                else if (strcmp(result, "held") == 0)
                        held++;
        }
        printf("%zu action%s: %zu ok, %zu failed, %zu skipped", n, n == 1 ? "" : "s", ok, failed,
               skipped);
        if (held > 0)
                printf(", %zu held", held);
        printf(".\n");
}

/* What the run did for services the apply did not ask for (another's restart, say): shown
 * apart, and no part of the exit status. */
static int print_others(json_t *reply) {
        json_t *others = reply_array(reply, "others");
        int r;

        if (json_array_size(others) == 0)
                return 0;
        printf("\nAlso in this run, for services not applied here:\n");
        r = print_actions(others);
        if (r < 0)
                return r;
        print_action_summary(others);
        return 0;
}

static int table_apply(json_t *reply) {
        json_t *actions = reply_array(reply, "actions"), *changed = reply_array(reply, "changed");
        size_t n_changed = json_array_size(changed);
        int r;

        if (json_array_size(actions) == 0 && n_changed == 0) {
                size_t n = json_array_size(reply_array(reply, "unchanged"));

                printf("No changes: %zu service%s up to date.\n", n, n == 1 ? "" : "s");
                return print_others(reply);
        }
        r = print_actions(actions);
        if (r < 0)
                return r;
        printf("Applied %zu changed definition%s", n_changed, n_changed == 1 ? "" : "s");
        if (reply_string(reply, "plan"))
                printf(" (plan %.12s)", reply_string(reply, "plan"));
        printf("; ");
        print_action_summary(actions);
        return print_others(reply);
}

static int table_reconcile(json_t *reply) {
        json_t *actions = reply_array(reply, "actions");
        int64_t run;
        int r;

        if (json_array_size(actions) == 0) {
                printf("Nothing to do.\n");
                return 0;
        }
        r = print_actions(actions);
        if (r < 0)
                return r;
        if (reply_int(reply, "run", &run))
                printf("Run %" PRId64 ": ", run);
        print_action_summary(actions);
        return 0;
}

static int table_plan(json_t *reply) {
        static const char *const counted[] = { "create", "update", "start",    "stop",
                                               "destroy", "restart", "recreate", "hold" };
        const char *id = reply_string(reply, "id");
        size_t count[HL_ELEMENTSOF(counted)] = { 0 }, i, name_width = 0, action_width = 0;
        json_t *actions = reply_array(reply, "actions"), *a;

        if (json_array_size(actions) == 0) {
                printf("No changes.\n");
                return 0;
        }

        json_array_foreach(actions, i, a) {
                const char *action = reply_string(a, "action") ?: "-",
                           *service = reply_string(a, "service") ?: "-";

                if (strlen(action) > action_width)
                        action_width = strlen(action);
                if (strlen(service) > name_width)
                        name_width = strlen(service);
                for (size_t k = 0; k < HL_ELEMENTSOF(counted); k++)
                        if (strcmp(action, counted[k]) == 0)
                                count[k]++;
        }

        json_array_foreach(actions, i, a) {
                const char *action = reply_string(a, "action"), *reason = reply_string(a, "reason");
                size_t k;
                json_t *change;

                printf("%s %-*s %-*s", action_symbol(action), (int) action_width,
                       action ?: "-", (int) name_width, reply_string(a, "service") ?: "-");
                if (reason && *reason)
                        printf("  (%s)", reason);
                putchar('\n');
                json_array_foreach(reply_array(a, "changes"), k, change)
                        if (json_is_string(change))
                                printf("      %s\n", json_string_value(change));
        }

        printf("\nPlan: %zu to create, %zu to update, %zu to start, %zu to stop, %zu to destroy",
               count[0], count[1], count[2], count[3], count[4]);
        if (count[5] > 0)
                printf(", %zu to restart", count[5]);
        if (count[6] > 0)
                printf(", %zu to recreate by hand", count[6]);
        if (count[7] > 0)
                printf(", %zu held back", count[7]);
        printf(".\n");
        /* Twelve digits are enough to name it; hld takes any prefix of 12 or more. */
        if (id)
                printf("Plan id: %.12s (apply --plan %.12s runs this plan and no other)\n", id, id);
        return 0;
}

static const char *format_memory(json_t *s, char *buf, size_t size) {
        json_t *limits = reply_object(s, "limits");
        char usage[32], limit[32];
        int64_t v;

        if (!reply_int(s, "memory_usage", &v) || v < 0)
                return "-";
        hl_format_size((uint64_t) v, usage, sizeof(usage));
        if (!reply_int(limits, "memory", &v) || v <= 0)
                snprintf(buf, size, "%s", usage);
        else
                snprintf(buf, size, "%s/%s", usage, hl_format_size((uint64_t) v, limit, sizeof(limit)));
        return buf;
}

/* "crash-looping, next start 12:03:04" or "exited"; NULL when the service is neither. */
static const char *format_condition(json_t *s, char *buf, size_t size) {
        const char *condition = reply_string(s, "condition");
        char when[64];
        int64_t next;

        if (!condition || !*condition)
                return NULL;
        if (strcmp(condition, "crash-looping") == 0 && reply_int(s, "next_restart", &next))
                snprintf(buf, size, "%s, next start %s", condition, reply_format_clock(next, when, sizeof(when)));
        else
                snprintf(buf, size, "%s", condition);
        return buf;
}

/* The state, and the condition after it: "STOPPED (exited)". */
static const char *format_state(json_t *s, char *buf, size_t size) {
        const char *state = reply_string(s, "state");
        char condition[128];

        if (!format_condition(s, condition, sizeof(condition)))
                return state;
        snprintf(buf, size, "%s (%s)", state ?: "-", condition);
        return buf;
}

/* "healthy", or "unhealthy, degraded (db)" for one running on an unhealthy requirement;
 * "-" without checks or while not running. */
static const char *format_health(json_t *s, char *buf, size_t size) {
        const char *health = reply_string(s, "health"), *degraded = reply_string(s, "degraded");

        if (!health || strcmp(health, "none") == 0)
                health = "-";
        if (!degraded || !*degraded)
                return health;
        snprintf(buf, size, "%s, degraded (%s)", health, degraded);
        return buf;
}

/* Containers in the lxcpath that hld did not make: after the services, marked as such. */
static int print_foreign(json_t *reply) {
        _cleanup_(table_freep) struct table *t = table_new(3);
        json_t *foreign = reply_array(reply, "foreign"), *f;
        size_t i;
        int r;

        if (json_array_size(foreign) == 0)
                return 0;
        if (!t)
                return -ENOMEM;
        r = table_add(t, "FOREIGN", "STATE", "");
        json_array_foreach(foreign, i, f)
                if (r >= 0)
                        r = table_add(t, reply_string(f, "name"), reply_string(f, "state"),
                                      "not hl's: listed, never changed");
        if (r < 0)
                return r;
        putchar('\n');
        return table_print(t, stdout, NULL);
}

/* What Proxmox runs on the node (status --all): marked read-only, never hl's to change. */
static int print_proxmox(json_t *reply) {
        _cleanup_(table_freep) struct table *t = table_new(5);
        json_t *guests = reply_array(reply, "proxmox"), *g;
        size_t i;
        int r;

        if (!json_object_get(reply, "proxmox"))
                return 0;
        if (!t)
                return -ENOMEM;
        putchar('\n');
        if (json_array_size(guests) == 0) {
                printf("No Proxmox guests on this node.\n");
                return 0;
        }
        r = table_add(t, "PROXMOX", "KIND", "NAME", "STATE", "ONBOOT");
        json_array_foreach(guests, i, g)
                if (r >= 0)
                        r = table_add(t, reply_string(g, "vmid"), reply_string(g, "kind"), reply_string(g, "name") ?: "-",
                                      reply_string(g, "state"),
                                      json_is_true(json_object_get(g, "onboot")) ? "yes (read-only)" : "no (read-only)");
        if (r < 0)
                return r;
        return table_print(t, stdout, NULL);
}

bool output_wide;

/* --output wide: what the definition and the last action say besides. */
static int table_list_wide(json_t *reply) {
        _cleanup_(table_freep) struct table *t = table_new(12);
        json_t *services = reply_array(reply, "services"), *s;
        size_t i;
        int r;

        if (!t)
                return -ENOMEM;
        r = table_add(t, "NAME", "STATE", "HEALTH", "ADDRESS", "DESIRED", "REV", "PID", "MEMORY", "TEMPLATE", "RESTART",
                      "LAST", "DESCRIPTION");
        json_array_foreach(services, i, s) {
                char rev[32], pid[32], memory[64], state[192], health[192], restart[64], restarts[32];

                if (r < 0)
                        break;
                snprintf(restart, sizeof(restart), "%s/%s", reply_string(s, "restart_policy") ?: "-",
                         reply_format_int(s, "restarts", restarts, sizeof(restarts)));
                r = table_add(t, reply_string(s, "name"), format_state(s, state, sizeof(state)),
                              format_health(s, health, sizeof(health)), reply_string(s, "address") ?: "-",
                              reply_string(s, "desired"), reply_format_int(s, "revision", rev, sizeof(rev)),
                              reply_format_int(s, "pid", pid, sizeof(pid)), format_memory(s, memory, sizeof(memory)),
                              reply_string(s, "template") ?: reply_string(s, "host"), restart,
                              reply_string(s, "last_action"), reply_string(s, "description"));
        }
        if (r >= 0 && json_array_size(services) > 0)
                r = table_print(t, stdout, NULL);
        else if (r >= 0)
                printf("No services.\n");
        if (r >= 0)
                r = print_foreign(reply);
        return r < 0 ? r : print_proxmox(reply);
}

static int table_list(json_t *reply) {
        _cleanup_(table_freep) struct table *t = table_new(9);
        json_t *services = reply_array(reply, "services"), *s;
        size_t i;
        int r;

        if (output_wide)
                return table_list_wide(reply);
        if (!t)
                return -ENOMEM;
        if (json_array_size(services) == 0) {
                printf("No services.\n");
                r = print_foreign(reply);
                return r < 0 ? r : print_proxmox(reply);
        }
        r = table_add(t, "NAME", "STATE", "HEALTH", "ADDRESS", "DESIRED", "REV", "PID", "MEMORY", "DESCRIPTION");
        if (r < 0)
                return r;
        json_array_foreach(services, i, s) {
                char rev[32], pid[32], memory[64], state[192], health[192];

                r = table_add(t, reply_string(s, "name"), format_state(s, state, sizeof(state)),
                              format_health(s, health, sizeof(health)), reply_string(s, "address") ?: "-",
                              reply_string(s, "desired"),
                              reply_format_int(s, "revision", rev, sizeof(rev)),
                              reply_format_int(s, "pid", pid, sizeof(pid)), format_memory(s, memory, sizeof(memory)),
                              reply_string(s, "description"));
                if (r < 0)
                        return r;
        }
        r = table_print(t, stdout, NULL);
        if (r >= 0)
                r = print_foreign(reply);
        return r < 0 ? r : print_proxmox(reply);
}

/* Prints a definition's text indented, with control characters other than tab shown
 * as '?' so a file cannot drive the terminal. */
static void print_indented(const char *text, const char *indent) {
        bool line_start = true;

        for (const char *p = text; *p; p++) {
                unsigned char c = (unsigned char) *p;

                if (line_start && c != '\n')
                        fputs(indent, stdout);
                line_start = c == '\n';
                putchar(c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f) ? c : '?');
        }
        if (!line_start)
                putchar('\n');
}

static int print_revisions(json_t *revisions) {
        _cleanup_(table_freep) struct table *t = table_new(5);
        json_t *rev;
        size_t i;
        int r;

        if (!t)
                return -ENOMEM;
        r = table_add(t, "REV", "APPLIED-AT", "APPLIED-BY", "HASH", "FILE");
        if (r < 0)
                return r;
        json_array_foreach(revisions, i, rev) {
                char number[32], at[64], uid[32], hash[13] = "";
                const char *by = reply_string(rev, "applied_by"), *h = reply_string(rev, "hash");

                if (!by || !*by)
                        by = reply_format_int(rev, "applied_by_uid", uid, sizeof(uid));
                if (h)
                        snprintf(hash, sizeof(hash), "%s", h);
                r = table_add(t, reply_format_int(rev, "revision", number, sizeof(number)),
                              reply_format_time(rev, "applied_at", at, sizeof(at)), by, hash,
                              reply_string(rev, "file"));
                if (r < 0)
                        return r;
        }
        return table_print(t, stdout, "  ");
}

/* The last lines of a step's output, indented; at most max lines. */
static void print_tail(const char *label, const char *text, size_t max) {
        const char *start;
        size_t lines = 0, len;

        if (!text || !*text)
                return;
        len = strlen(text);
        while (len > 0 && text[len - 1] == '\n')
                len--;
        for (start = text + len; start > text; start--)
                if (start[-1] == '\n' && ++lines >= max)
                        break;
        _cleanup_free_ char *part = strndup(start, (size_t) (text + len - start));
        if (!part)
                return;
        printf("      %s:\n", label);
        print_indented(part, "        ");
}

/* How the container was provisioned at its last create: the boot, then each step, with
 * the output of one that failed. */
static void print_provisioned(json_t *e) {
        json_t *step;
        char when[64], took[32];
        int64_t boot;
        size_t i;

        if (!e)
                return;
        printf("\nProvisioned (create of %s, %s", reply_format_time(e, "time", when, sizeof(when)),
               reply_string(e, "result") ?: "-");
        if (reply_int(e, "boot_ms", &boot))
                printf("; booted in %.1f s", (double) boot / 1000);
        printf("):\n");
        if (reply_string(e, "boot_error"))
                printf("  boot: %s\n", reply_string(e, "boot_error"));
        json_array_foreach(reply_array(e, "steps"), i, step) {
                int64_t status = -1;
                char st[32];

                reply_int(step, "status", &status);
                if (status == 0)
                        snprintf(st, sizeof(st), "ok");
                else
                        snprintf(st, sizeof(st), "status %" PRId64, status);
                printf("  %-3s %-10s %8s  ", reply_format_int(step, "step", took, sizeof(took)), st,
                       reply_format_duration(step, "duration_ms", when, sizeof(when)));
                print_indented(reply_string(step, "command") ?: "", "");
                if (status != 0) {
                        print_tail("stderr", reply_string(step, "stderr"), 20);
                        print_tail("stdout", reply_string(step, "stdout"), 10);
                }
        }
}

static int table_show(json_t *reply) {
        _cleanup_(table_freep) struct table *t = table_new(2);
        _cleanup_free_ char *requires = NULL;
        json_t *s = reply_object(reply, "service"), *revisions = reply_array(reply, "revisions");
        const char *text = reply_string(reply, "text");
        char rev[32], pid[32], limits[128], live[128], usage[32], condition[128], restarts[32], degraded[160];
        const char *health = reply_string(s, "health"), *degraded_by = reply_string(s, "degraded");
        json_t *iface;
        size_t i;
        int r;

        if (!t)
                return -ENOMEM;
        requires = join_strings(reply_array(s, "requires"));
        r = table_add(t, "Name:", reply_string(s, "name"));
        if (r >= 0)
                r = table_add(t, "Description:", reply_string(s, "description"));
        if (r >= 0)
                r = table_add(t, "State:", reply_string(s, "state"));
        if (r >= 0)
                r = table_add(t, "Condition:", format_condition(s, condition, sizeof(condition)));
        if (r >= 0 && reply_string(s, "problem"))
                r = table_add(t, "Problem:", reply_string(s, "problem"));
        if (r >= 0)
                r = table_add(t, "Health:",
                              health && strcmp(health, "none") == 0 ? "- (no checks, or not running)" : health);
        if (r >= 0) {
                if (degraded_by && *degraded_by)
                        snprintf(degraded, sizeof(degraded), "yes: it requires %s, which is unhealthy", degraded_by);
                else
                        snprintf(degraded, sizeof(degraded), "%s", health ? "no" : "-");
                r = table_add(t, "Degraded:", degraded);
        }
        if (r >= 0)
                r = table_add(t, "Desired:", reply_string(s, "desired"));
        if (r >= 0)
                r = table_add(t, "Revision:", reply_format_int(s, "revision", rev, sizeof(rev)));
        if (r >= 0 && reply_string(s, "host"))
                r = table_add(t, "Host:", reply_string(s, "host"));
        else if (r >= 0)
                r = table_add(t, "Template:", reply_string(s, "template"));
        if (r >= 0)
                r = table_add(t, "Requires:", requires);
        if (r >= 0)
                r = table_add(t, "PID:", reply_format_int(s, "pid", pid, sizeof(pid)));
        if (r >= 0)
                r = table_add(t, "Limits (defined):",
                              format_limits(reply_object(s, "limits"), limits, sizeof(limits)));
        if (r >= 0)
                r = table_add(t, "Limits (live):",
                              format_limits(reply_object(s, "live_limits"), live, sizeof(live)));
        if (r >= 0)
                r = table_add(t, "Memory usage:", format_size(s, "memory_usage", usage, sizeof(usage)));
        json_array_foreach(reply_array(s, "interfaces"), i, iface) {
                _cleanup_free_ char *line = NULL, *addresses = join_strings(reply_array(iface, "addresses"));
                char label[32];

                if (r < 0)
                        break;
                snprintf(label, sizeof(label), "Interface %s:", reply_string(iface, "name") ?: "?");
                line = hl_strdup_printf("%s%s%s%s", addresses && *addresses ? addresses : "no address",
                                        reply_string(iface, "hwaddr") ? " (" : "", reply_string(iface, "hwaddr") ?: "",
                                        reply_string(iface, "hwaddr") ? ")" : "");
                r = line ? table_add(t, label, line) : -ENOMEM;
        }
        if (r >= 0)
                r = table_add(t, "Restart policy:", reply_string(s, "restart_policy"));
        if (r >= 0)
                r = table_add(t, "Restarts:", reply_format_int(s, "restarts", restarts, sizeof(restarts)));
        if (r >= 0)
                r = table_add(t, "Last action:", reply_string(s, "last_action"));
        if (r >= 0)
                r = table_add(t, "Last error:", reply_string(s, "last_error"));
        if (r < 0)
                return r;
        r = table_print(t, stdout, NULL);
        if (r < 0)
                return r;

        if (text) {
                printf("\nDefinition (revision %s):\n", reply_format_int(s, "revision", rev, sizeof(rev)));
                print_indented(text, "    ");
        }
        if (json_array_size(revisions) > 0) {
                printf("\nRevisions:\n");
                r = print_revisions(revisions);
                if (r < 0)
                        return r;
        }
        print_provisioned(reply_object(reply, "provisioned"));
        return 0;
}

static int table_action(json_t *reply) {
        _cleanup_(table_freep) struct table *t = table_new(5);
        int r;

        if (!t)
                return -ENOMEM;
        table_align_right(t, 3);
        r = add_action_row(t, reply_object(reply, "action"));
        if (r < 0)
                return r;
        return table_print(t, stdout, NULL);
}

/* The columns of an event, in history and in a stream of events. */
enum { EVENT_COLUMNS = 7 };
static const char *const event_header[EVENT_COLUMNS] = { "TIME",     "SERVICE", "ACTION",      "RESULT",
                                                         "DURATION", "USER",    "REASON/ERROR" };

struct event_cells {
        char time[64], duration[32], uid[32];
        char *why;
        const char *cells[EVENT_COLUMNS];
};

static void event_cells_done(struct event_cells *c) {
        free(c->why);
}

static int event_cells(json_t *e, struct event_cells *c) {
        const char *user = reply_string(e, "user"), *reason = reply_string(e, "reason"),
                   *error = reply_string(e, "error");

        if (!user || !*user)
                user = reply_format_int(e, "uid", c->uid, sizeof(c->uid));
        if (error && *error && reason && *reason)
                c->why = hl_strdup_printf("%s: %s", reason, error);
        else
                c->why = strdup(error && *error ? error : reason ?: "-");
        if (!c->why)
                return -ENOMEM;
        c->cells[0] = reply_format_time(e, "time", c->time, sizeof(c->time));
        c->cells[1] = reply_string(e, "service");
        c->cells[2] = reply_string(e, "action");
        c->cells[3] = reply_string(e, "result");
        c->cells[4] = reply_format_duration(e, "duration_ms", c->duration, sizeof(c->duration));
        c->cells[5] = user;
        c->cells[6] = c->why;
        return 0;
}

static int table_history(json_t *reply) {
        _cleanup_(table_freep) struct table *t = table_new(EVENT_COLUMNS);
        json_t *events = reply_array(reply, "events"), *e;
        size_t i;
        int r;

        if (!t)
                return -ENOMEM;
        if (json_array_size(events) == 0) {
                printf("No events.\n");
                return 0;
        }
        table_align_right(t, 4);
        r = table_add(t, event_header[0], event_header[1], event_header[2], event_header[3], event_header[4],
                      event_header[5], event_header[6]);
        if (r < 0)
                return r;
        json_array_foreach(events, i, e) {
                struct event_cells c = {};

                r = event_cells(e, &c);
                if (r >= 0)
                        r = table_add(t, c.cells[0], c.cells[1], c.cells[2], c.cells[3], c.cells[4], c.cells[5],
                                      c.cells[6]);
                event_cells_done(&c);
                if (r < 0)
                        return r;
        }
        return table_print(t, stdout, NULL);
}

/* Each event is printed as it comes: the columns are as wide as the widest cell seen so
 * far, starting wide enough for the usual names, and the header comes with the first. */
static int flush_stdout(void) {
        return fflush(stdout) == 0 ? 0 : -errno;
}

static int table_event(json_t *reply) {
        static size_t width[EVENT_COLUMNS] = { 19, 12, 8, 11, 8, 4, 0 };
        static const bool right[EVENT_COLUMNS] = { [4] = true };
        static bool header_printed;
        struct event_cells c = {};
        int r;

        r = event_cells(reply_object(reply, "event"), &c);
        if (r >= 0 && !header_printed) {
                r = table_print_row(stdout, EVENT_COLUMNS, event_header, width, right);
                header_printed = true;
        }
        if (r >= 0)
                r = table_print_row(stdout, EVENT_COLUMNS, c.cells, width, right);
        event_cells_done(&c);
        return r < 0 ? r : flush_stdout();
}

static int table_why(json_t *reply) {
        json_t *line;
        size_t i;

        json_array_foreach(reply_array(reply, "explanation"), i, line)
                if (json_is_string(line))
                        print_indented(json_string_value(line), "");
        return 0;
}

static int table_version(json_t *reply) {
        printf("hld %s (interface %s)\n", reply_string(reply, "version") ?: "-",
               reply_string(reply, "interface") ?: "-");
        return 0;
}

static int table_snapshots(json_t *reply) {
        _cleanup_(table_freep) struct table *t = table_new(4);
        json_t *snapshots = reply_array(reply, "snapshots"), *s;
        size_t i;
        int r;

        if (!t)
                return -ENOMEM;
        if (json_array_size(snapshots) == 0) {
                printf("No snapshots.\n");
                return 0;
        }
        r = table_add(t, "NAME", "CREATED", "KEPT BY", "COMMENT");
        json_array_foreach(snapshots, i, s) {
                char created[64];
                const char *comment = reply_string(s, "comment"), *retention = reply_string(s, "retention");

                if (r >= 0)
                        r = table_add(t, reply_string(s, "name") ?: "-",
                                      reply_format_time(s, "created", created, sizeof(created)),
                                      retention ? retention : "-", comment ? comment : "");
        }
        return r < 0 ? r : table_print(t, stdout, NULL);
}

static int table_backups(json_t *reply) {
        _cleanup_(table_freep) struct table *t = table_new(5);
        json_t *backups = reply_array(reply, "backups"), *b;
        size_t i;
        int r;

        if (!t)
                return -ENOMEM;
        if (json_array_size(backups) == 0) {
                printf("No backups in %s.\n", reply_string(reply, "dir") ?: "the backup directory");
                return 0;
        }
        table_align_right(t, 2);
        r = table_add(t, "ARCHIVE", "CREATED", "SIZE", "PROTECTED", "KEPT BY");
        json_array_foreach(backups, i, b) {
                char created[64], size[32];
                int64_t bytes = 0;
                json_t *p = json_object_get(b, "protected");

                reply_int(b, "size", &bytes);
                snprintf(size, sizeof(size), "%.1fM", (double) bytes / (1 << 20));
                if (r >= 0)
                        r = table_add(t, reply_string(b, "archive") ?: "-", reply_format_time(b, "created", created, sizeof(created)),
                                      size, json_is_true(p) ? "yes" : "", reply_string(b, "retention") ?: "-");
        }
        return r < 0 ? r : table_print(t, stdout, NULL);
}

const struct output output_table = {
        .apply = table_apply,
        .plan = table_plan,
        .reconcile = table_reconcile,
        .list = table_list,
        .show = table_show,
        .action = table_action,
        .history = table_history,
        .event = table_event,
        .why = table_why,
        .version = table_version,
        .health = output_table_health,
        .health_history = output_table_health_history,
        .snapshots = table_snapshots,
        .backups = table_backups,
};

/* Scripts get each reply's parameters as they are, so fields hlctl does not know yet
 * reach them too. */
static int json_print(json_t *reply) {
        if (json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) < 0)
                return -EIO;
        putchar('\n');
        return 0;
}

/* JSON lines: each event as one compact object on a line of its own, at once. */
static int json_event(json_t *reply) {
        json_t *event = reply_object(reply, "event");

        if (json_dumpf(event ?: reply, stdout, JSON_COMPACT | JSON_SORT_KEYS) < 0)
                return -EIO;
        putchar('\n');
        return flush_stdout();
}

const struct output output_json = {
        .apply = json_print,
        .plan = json_print,
        .reconcile = json_print,
        .list = json_print,
        .show = json_print,
        .action = json_print,
        .history = json_print,
        .event = json_event,
        .why = json_print,
        .version = json_print,
        .health = json_print,
        .health_history = json_print,
        .snapshots = json_print,
        .backups = json_print,
};
