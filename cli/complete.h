/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct complete_verb {
        const char *name;
        const char *options; /* its options, "--prune --plan" */
        /* What its arguments are, one word each: service, snapshot (of the first argument),
         * file, pct, shell; a last word ending in "..." repeats. */
        const char *args;
};

struct complete_option {
        const char *name; /* "--since" */
        bool argument;    /* it takes a value: the next word */
};

/* Writes the completion script for shell (bash or zsh) to f; -1 for another shell. */
int complete_script(FILE *f, const char *shell, const struct complete_verb *verbs, size_t n,
                    const struct complete_option *options, size_t n_options);
