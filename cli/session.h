/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>
#include <stdbool.h>

/* What hlctl exec exits with when there is no command's status to pass on: hld refused,
 * the session could not be made, or it broke (as ssh does). */
#define SESSION_EXIT_FAILED 255

/* Runs a session (io.hl.Exec or io.hl.Console; parameters borrowed, the terminal's size
 * and type added): terminal makes the local terminal raw for a pty inside; console watches
 * for the detach key. Returns the command's exit status (128+N for a signal N), 0 for a
 * console left, or SESSION_EXIT_FAILED with the error printed. */
int session_run(const char *socket_path, const char *method, json_t *parameters, bool terminal, bool console);

/* The same without a terminal, the stdin frames read from in (-1: none) and the stdout
 * frames written to out (-1: none expected); the answer's parameters in *ret_reply. */
int session_run_with(const char *socket_path, const char *method, json_t *parameters, int in, int out,
                     json_t **ret_reply);
