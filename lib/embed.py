#!/usr/bin/env python3
# Turns a text file into a C string constant, so the Varlink interface description has
# one source (io.hl.varlink) and is served by hld byte for byte.
import sys

src, dst, name = sys.argv[1:4]
data = open(src, encoding='utf-8').read()
with open(dst, 'w', encoding='utf-8') as out:
    out.write('/* Generated from %s. */\n' % src.split('/')[-1])
    out.write('extern const char %s[];\n' % name)
    out.write('const char %s[] =\n' % name)
    for line in data.splitlines(True):
        esc = line.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
        out.write('        "%s"\n' % esc)
    out.write('        ;\n')
