/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One revision of a definition and what follows from it: its canonical text and hash, its
 * container settings. Reference counted, so that work in the pool keeps its own. */
#include <string.h>

#include "hld.h"

struct desired *desired_new(struct hl_def *def, const char *text, const char *file, int64_t revision) {
        struct desired *d = calloc(1, sizeof(*d));

        if (!d)
                return NULL;
        d->ref = 1;
        d->def = def;
        d->revision = revision;
        d->text = strdup(text);
        d->file = strdup(file ? file : "");
        /* The canonical text is made once: what is stored is exactly what was hashed. */
        d->canonical = hl_def_canonical(def);
        if (!d->text || !d->file || !d->canonical || settings_for(def, &d->settings) < 0) {
                d->def = NULL; /* the caller still owns def on failure */
                return desired_unref(d);
        }
        hl_sha256_hex(d->canonical, strlen(d->canonical), d->hash);
        return d;
}

struct desired *desired_ref(struct desired *d) {
        if (d)
                d->ref++;
        return d;
}

struct desired *desired_unref(struct desired *d) {
        if (!d || --d->ref > 0)
                return NULL;
        hl_def_free(d->def);
        settings_done(&d->settings);
        free(d->text);
        free(d->file);
        free(d->canonical);
        free(d);
        return NULL;
}
