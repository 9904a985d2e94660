/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What follows from a service's state: what it is to be, and when it may be restarted. */
#include "hld.h"

enum hl_want service_wanted(const struct service *s) {
        if (s->overridden)
                return s->override;
        return s->desired->def->state == HL_DESIRED_RUNNING ? HL_WANT_RUNNING : HL_WANT_STOPPED;
}

int64_t service_next_restart(const struct service *s) {
        const struct hl_restart *r = &s->desired->def->restart;
        unsigned shift;
        uint64_t delay;

        if (s->restart_failures < r->start_limit_burst || s->restart_failures == 0)
                return 0;
        shift = s->restart_failures - r->start_limit_burst;
        delay = r->restart_sec_ms << (shift > 30 ? 30 : shift);
        if (delay > r->restart_max_delay_ms || delay < r->restart_sec_ms)
                delay = r->restart_max_delay_ms;
        return s->last_restart_ms + (int64_t) delay;
}
