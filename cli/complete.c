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

/* "        NAME) opts=Q…Q; kinds=Q…Q ;;" for each verb: the case that sets what it takes. */
static void verb_cases(FILE *f, const struct complete_verb *v, size_t n, char quote) {
        for (size_t i = 0; i < n; i++)
                fprintf(f, "        %s) opts=%c%s%c; kinds=%c%s%c ;;\n", v[i].name, quote, v[i].options, quote, quote,
                        v[i].args, quote);
}

static void bash_script(FILE *f, const struct complete_verb *v, size_t n, const struct complete_option *o, size_t n_o) {
        fprintf(f, "# bash completion for hlctl: written by hlctl __completion bash from its own tables.\n"
                   "# Service and snapshot names are asked of hld (hlctl __names) as you type.\n\n"
                   "_hlctl_names() {\n"
                   "        local -a socket=()\n"
                   "        local i\n"
                   "        for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do\n"
                   "                if [[ ${COMP_WORDS[i]} == --socket ]]; then\n"
                   "                        if [[ ${COMP_WORDS[i + 1]} == = ]]; then socket=(--socket \"${COMP_WORDS[i + 2]}\")\n"
                   "                        else socket=(--socket \"${COMP_WORDS[i + 1]}\"); fi\n"
                   "                fi\n"
                   "        done\n"
                   "        \"${COMP_WORDS[0]}\" \"${socket[@]}\" __names \"$@\" 2>/dev/null\n"
                   "}\n\n"
                   "# The candidates on stdin, one a line, that start with $1: into COMPREPLY, each whole.\n"
                   "_hlctl_offer() {\n"
                   "        local c\n"
                   "        while IFS= read -r c; do [[ $c == \"$1\"* ]] && COMPREPLY+=(\"$c\"); done\n"
                   "}\n\n"
                   "_hlctl() {\n"
                   "        local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} eq=\"\"\n"
                   "        local verb=\"\" i kinds=\"\" opts=\"\" kind\n"
                   "        local -a args=() k\n"
                   "        COMPREPLY=()\n"
                   "        # bash splits --opt=value at the '=': the value's option is the word before it.\n"
                   "        if [[ $cur == = ]]; then eq==; cur=\"\"; elif [[ $prev == = ]]; then prev=${COMP_WORDS[COMP_CWORD - 2]}; fi\n"
                   "        for ((i = 1; i < COMP_CWORD; i++)); do\n"
                   "                case ${COMP_WORDS[i]} in\n"
                   "                ");
        value_options(f, o, n_o);
        fprintf(f, ") [[ ${COMP_WORDS[i + 1]} == = ]] && ((i++)); ((i++)) ;;\n"
                   "                -*|=) ;;\n"
                   "                *) if [[ -z $verb ]]; then verb=${COMP_WORDS[i]}; else args+=(\"${COMP_WORDS[i]}\"); fi ;;\n"
                   "                esac\n"
                   "        done\n"
                   "        case $verb in\n");
        verb_cases(f, v, n, '"');
        fprintf(f, "        esac\n"
                   "        case $prev in\n"
                   "        --socket|--to|--rootfs|--lxcpath|--pve-root|--template)\n"
                   "                _hlctl_offer \"$cur\" < <(compgen -f -- \"$cur\"); compopt -o filenames 2>/dev/null ;;\n"
                   "        --service) _hlctl_offer \"$cur\" < <(_hlctl_names services) ;;\n"
                   "        --mode) _hlctl_offer \"$cur\" < <(printf '%%s\\n' snapshot stop) ;;\n"
                   "        ");
        value_options(f, o, n_o);
        fprintf(f, ") ;;\n"
                   "        *)\n"
                   "                if [[ -z $verb && $cur == -* ]]; then\n"
                   "                        _hlctl_offer \"$cur\" < <(printf '%%s\\n' --json --socket --help --version)\n"
                   "                elif [[ -z $verb ]]; then\n"
                   "                        _hlctl_offer \"$cur\" < <(printf '%%s\\n' ");
        verb_names(f, v, n);
        fprintf(f, ")\n"
                   "                elif [[ $cur == -* ]]; then\n"
                   "                        _hlctl_offer \"$cur\" < <(printf '%%s\\n' $opts --json --socket)\n"
                   "                else\n"
                   "                        k=($kinds)\n"
                   "                        kind=${k[${#args[@]}]}\n"
                   "                        if [[ -z $kind && ${#k[@]} -gt 0 && ${k[-1]} == *... ]]; then kind=${k[-1]}; fi\n"
                   "                        case ${kind%%%%...} in\n"
                   "                        service) _hlctl_offer \"$cur\" < <(_hlctl_names services) ;;\n"
                   "                        snapshot) _hlctl_offer \"$cur\" < <(_hlctl_names snapshots \"${args[0]}\") ;;\n"
                   "                        file) _hlctl_offer \"$cur\" < <(compgen -f -- \"$cur\"); compopt -o filenames 2>/dev/null ;;\n"
                   "                        pct) _hlctl_offer \"$cur\" < <(printf '%%s\\n' pct) ;;\n"
                   "                        shell) _hlctl_offer \"$cur\" < <(printf '%%s\\n' bash zsh) ;;\n"
                   "                        esac\n"
                   "                fi ;;\n"
                   "        esac\n"
                   "        [[ -n $eq ]] && COMPREPLY=(\"${COMPREPLY[@]/#/=}\")\n"
                   "        return 0\n"
                   "}\n\n"
                   "complete -F _hlctl hlctl\n");
}

static void zsh_script(FILE *f, const struct complete_verb *v, size_t n, const struct complete_option *o, size_t n_o) {
        fprintf(f, "#compdef hlctl\n"
                   "# zsh completion for hlctl: written by hlctl __completion zsh from its own tables.\n"
                   "# Service and snapshot names are asked of hld (hlctl __names) as you type.\n\n"
                   "_hlctl_names() {\n"
                   "        local -a socket\n"
                   "        local i\n"
                   "        for ((i = 2; i < $#words; i++)); do\n"
                   "                [[ ${words[i]} == --socket ]] && socket=(--socket ${words[i + 1]})\n"
                   "                [[ ${words[i]} == --socket=* ]] && socket=(--socket ${words[i]#--socket=})\n"
                   "        done\n"
                   "        ${words[1]} $socket __names \"$@\" 2>/dev/null\n"
                   "}\n\n"
                   "_hlctl() {\n"
                   "        local verb='' i kinds='' opts='' kind prev=${words[CURRENT - 1]}\n"
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
                   "        case $verb in\n");
        verb_cases(f, v, n, '\'');
        fprintf(f, "        esac\n"
                   "        case $prev in\n"
                   "        --socket|--to|--rootfs|--lxcpath|--pve-root|--template) _files; return ;;\n"
                   "        --service) compadd -- ${(f)$(_hlctl_names services)}; return ;;\n"
                   "        --mode) compadd -- snapshot stop; return ;;\n"
                   "        ");
        value_options(f, o, n_o);
        fprintf(f, ") return ;;\n"
                   "        esac\n"
                   "        if [[ -z $verb ]]; then\n"
                   "                if [[ $PREFIX == -* ]]; then compadd -- --json --socket --help --version\n"
                   "                else compadd -- ");
        verb_names(f, v, n);
        fprintf(f, "\n"
                   "                fi\n"
                   "                return\n"
                   "        fi\n"
                   "        if [[ $PREFIX == -* ]]; then compadd -- ${=opts} --json --socket; return; fi\n"
                   "        k=(${=kinds})\n"
                   "        kind=${k[$((${#args} + 1))]}\n"
                   "        if [[ -z $kind && ${#k} -gt 0 && ${k[-1]} == *... ]]; then kind=${k[-1]}; fi\n"
                   "        case ${kind%%%%...} in\n"
                   "        service) compadd -- ${(f)$(_hlctl_names services)} ;;\n"
                   "        snapshot) compadd -- ${(f)$(_hlctl_names snapshots ${args[1]})} ;;\n"
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
