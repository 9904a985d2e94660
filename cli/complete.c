/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shell completion scripts for hlctl, written from its own verb and option tables (at build
 * time: meson runs hlctl __completion bash|zsh), so they cannot drift from what hlctl takes.
 * Service and snapshot names come from hld at completion time, through hlctl __names. */
#include <stdio.h>
#include <string.h>

#include "complete.h"

/* "--since|--limit|…": the options that take a value (the next word). */
static void value_options(FILE *f, const struct complete_option *o, size_t n_o) {
        for (size_t i = 0, first = 1; i < n_o; i++)
                if (o[i].argument) {
                        fprintf(f, "%s%s", first ? "" : "|", o[i].name);
                        first = 0;
                }
}

static void verb_names(FILE *f, const struct complete_verb *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s", i ? " " : "", v[i].name);
}

static void bash_script(FILE *f, const struct complete_verb *v, size_t n, const struct complete_option *o, size_t n_o) {
        fprintf(f, "# bash completion for hlctl: written by hlctl __completion bash from its own tables.\n"
                   "# Service and snapshot names are asked of hld (hlctl __names) as you type.\n\n"
                   "_hlctl_names() {\n"
                   "        local socket=\"\" i\n"
                   "        for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do\n"
                   "                [[ ${COMP_WORDS[i]} == --socket ]] && socket=\"--socket=${COMP_WORDS[i + 1]}\"\n"
                   "                [[ ${COMP_WORDS[i]} == --socket=* ]] && socket=${COMP_WORDS[i]}\n"
                   "        done\n"
                   "        \"${COMP_WORDS[0]}\" $socket __names \"$@\" 2>/dev/null\n"
                   "}\n\n"
                   "_hlctl() {\n"
                   "        local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
                   "        local verb=\"\" i pos=0 kinds opts\n"
                   "        local -a args=()\n"
                   "        COMPREPLY=()\n"
                   "        for ((i = 1; i < COMP_CWORD; i++)); do\n"
                   "                case ${COMP_WORDS[i]} in\n"
                   "                ");
        value_options(f, o, n_o);
        fprintf(f, ") ((i++)) ;;\n"
                   "                -*) ;;\n"
                   "                *) if [[ -z $verb ]]; then verb=${COMP_WORDS[i]}; else args+=(\"${COMP_WORDS[i]}\"); fi ;;\n"
                   "                esac\n"
                   "        done\n"
                   "        pos=${#args[@]}\n"
                   "        case $prev in\n"
                   "        --socket|--to|--rootfs|--lxcpath|--pve-root|--template)\n"
                   "                COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null; return ;;\n"
                   "        --service|--as|--name) [[ $prev == --service ]] && COMPREPLY=($(compgen -W \"$(_hlctl_names services)\" -- \"$cur\")); return ;;\n"
                   "        --mode) COMPREPLY=($(compgen -W \"snapshot stop\" -- \"$cur\")); return ;;\n"
                   "        --since|--limit|--plan|--action|--timeout|--comment) return ;;\n"
                   "        esac\n"
                   "        if [[ -z $verb ]]; then\n"
                   "                if [[ $cur == -* ]]; then\n"
                   "                        COMPREPLY=($(compgen -W \"--json --socket --help --version\" -- \"$cur\"))\n"
                   "                else\n"
                   "                        COMPREPLY=($(compgen -W \"");
        verb_names(f, v, n);
        fprintf(f, "\" -- \"$cur\"))\n"
                   "                fi\n"
                   "                return\n"
                   "        fi\n"
                   "        case $verb in\n");
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "        %s) opts=\"%s\"; kinds=\"%s\" ;;\n", v[i].name, v[i].options, v[i].args);
        }
        fprintf(f, "        *) return ;;\n"
                   "        esac\n"
                   "        if [[ $cur == -* ]]; then\n"
                   "                COMPREPLY=($(compgen -W \"$opts --json --socket\" -- \"$cur\"))\n"
                   "                return\n"
                   "        fi\n"
                   "        local -a k=($kinds)\n"
                   "        local kind=${k[pos]}\n"
                   "        if [[ -z $kind && ${#k[@]} -gt 0 && ${k[-1]} == *... ]]; then kind=${k[-1]}; fi\n"
                   "        case ${kind%%...} in\n"
                   "        service) COMPREPLY=($(compgen -W \"$(_hlctl_names services)\" -- \"$cur\")) ;;\n"
                   "        snapshot) COMPREPLY=($(compgen -W \"$(_hlctl_names snapshots \"${args[0]}\")\" -- \"$cur\")) ;;\n"
                   "        file) COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null ;;\n"
                   "        pct) COMPREPLY=($(compgen -W \"pct\" -- \"$cur\")) ;;\n"
                   "        shell) COMPREPLY=($(compgen -W \"bash zsh\" -- \"$cur\")) ;;\n"
                   "        esac\n"
                   "}\n\n"
                   "complete -F _hlctl hlctl\n");
}

static void zsh_script(FILE *f, const struct complete_verb *v, size_t n, const struct complete_option *o, size_t n_o) {
        fprintf(f, "#compdef hlctl\n"
                   "# zsh completion for hlctl: written by hlctl __completion zsh from its own tables.\n"
                   "# Service and snapshot names are asked of hld (hlctl __names) as you type.\n\n"
                   "_hlctl() {\n"
                   "        local verb='' i kinds opts\n"
                   "        local -a args k\n"
                   "        for ((i = 2; i < CURRENT; i++)); do\n"
                   "                case ${words[i]} in\n"
                   "                ");
        value_options(f, o, n_o);
        fprintf(f, ") ((i++)) ;;\n"
                   "                -*) ;;\n"
                   "                *) if [[ -z $verb ]]; then verb=${words[i]}; else args+=(${words[i]}); fi ;;\n"
                   "                esac\n"
                   "        done\n"
                   "        if [[ -z $verb ]]; then\n"
                   "                if [[ $PREFIX == -* ]]; then compadd -- --json --socket --help --version\n"
                   "                else compadd -- ");
        verb_names(f, v, n);
        fprintf(f, "\n"
                   "                fi\n"
                   "                return\n"
                   "        fi\n"
                   "        case $verb in\n");
        for (size_t i = 0; i < n; i++)
                fprintf(f, "        %s) opts='%s'; kinds='%s' ;;\n", v[i].name, v[i].options, v[i].args);
        fprintf(f, "        *) return ;;\n"
                   "        esac\n"
                   "        if [[ $PREFIX == -* ]]; then compadd -- ${=opts} --json --socket; return; fi\n"
                   "        k=(${=kinds})\n"
                   "        local kind=${k[$((${#args} + 1))]}\n"
                   "        if [[ -z $kind && ${#k} -gt 0 && ${k[-1]} == *... ]]; then kind=${k[-1]}; fi\n"
                   "        case ${kind%%...} in\n"
                   "        service) compadd -- ${(f)\"$(${words[1]} __names services 2>/dev/null)\"} ;;\n"
                   "        snapshot) compadd -- ${(f)\"$(${words[1]} __names snapshots ${args[1]} 2>/dev/null)\"} ;;\n"
                   "        file) _files ;;\n"
                   "        pct) compadd -- pct ;;\n"
                   "        shell) compadd -- bash zsh ;;\n"
                   "        esac\n"
                   "}\n\n"
                   "_hlctl \"$@\"\n");
}

int complete_script(FILE *f, const char *shell, const struct complete_verb *verbs, size_t n,
                    const struct complete_option *options, size_t n_options) {
        if (strcmp(shell, "bash") == 0)
                bash_script(f, verbs, n, options, n_options);
        else if (strcmp(shell, "zsh") == 0)
                zsh_script(f, verbs, n, options, n_options);
        else
                return -1;
        return 0;
}
