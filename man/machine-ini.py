#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes mosaic-machine.ini(5) in scdoc from the typed property tables: the JSON of
`mosaic --describe all --json` (the same tables --describe prints and the reader checks),
after the hand-written syntax part.

    machine-ini.py DESCRIBE.json INTRO.scd > mosaic-machine.ini.5.scd
"""
import json
import sys


def esc(text):
    """scdoc escapes: \\ * _ are markup; a leading '.' or '-' would be taken as roff or a list."""
    out = ''.join('\\' + c if c in '\\*_`' else c for c in text)
    return out


def size(n):
    for unit, shift in (('T', 40), ('G', 30), ('M', 20), ('K', 10)):
        if n and n % (1 << shift) == 0:
            return f'{n >> shift}{unit}'
    return str(n)


def upper_first(text):
    return text[:1].upper() + text[1:]


def key_lines(k):
    head = f'*{esc(k["key"])}* = _{esc(k["type"])}_'
    facts = []
    if 'choices' in k:
        facts.append('one of ' + ', '.join(f'*{esc(c)}*' for c in k['choices'].split('|')))
    if 'refers_to' in k:
        facts.append(f'the label of a [{esc(k["refers_to"])} LABEL] section')
    if 'min' in k:
        lo, hi = k['min'], k['max']
        if k['type'] in ('size', 'rate'):
            unit = '/s' if k['type'] == 'rate' else ''
            facts.append(f'{size(lo)}{unit} to {size(hi)}{unit}')
        else:
            facts.append(f'{lo} to {hi}')
    if k['required']:
        facts.append('required')
    if 'default' in k:
        facts.append('default ' + (f'*{esc(k["default"])}*' if k['default'] else '""'))
    if k['runtime']:
        facts.append('changeable at run time (qom-set)')
    body = esc(k['help']) if k['help'] else ''
    if facts:
        body = (body + '. ' if body and not body.endswith('.') else body + ' ' if body else '') \
            + upper_first('; '.join(facts)) + '.'
    return [head, '\t' + body.strip(), '']


def main():
    data = json.load(open(sys.argv[1]))
    out = [open(sys.argv[2]).read().rstrip('\n'), '']
    out += ['# SECTION KINDS', '',
            'Every section kind the reader accepts, with the keys it takes itself. A section '
            'whose selector key names a plugin type also takes that type\'s keys (next chapter).',
            '']
    for s in data['sections']:
        # Headings take no inline markup in scdoc.
        header = f'[{s["kind"]}]' if s['singleton'] else f'[{s["kind"]} LABEL]'
        out += [f'## {header}', '']
        if s['owner']:
            out += [f'Owned by the plugin *{esc(s["owner"])}*' +
                    (f': {esc(s["help"])}' if s['help'] else '') + '.', '']
        if s['selector']:
            out += [f'*{esc(s["selector"])}* selects a {esc(s["plugin_kind"])} plugin, whose keys '
                    'are added.', '']
        elif s['plugin_kind']:
            out += [f'Takes the keys of the {esc(s["plugin_kind"])} plugin chosen by '
                    '*accel* in [machine].', '']
        if not s['keys']:
            out += ['No keys of its own.', '']
        for k in s['keys']:
            out += key_lines(k)
    out += ['# TYPES', '',
            'Every plugin type found when this page was generated (the core\'s built-in types '
            'and the plugins installed with it), with the keys it adds to its section. '
            '*mosaic --describe* _TYPE_ prints the same for the plugins installed on a host.',
            '']
    for t in data['types']:
        out += [f'## {t["name"]} ({t["kind"]})', '']
        where = ''
        if t['selected_by']:
            sec, key = t['selected_by'].split('.', 1)
            target = t['section']
            where = (f' Chosen by *{esc(key)} = {esc(t["name"])}* in [{esc(sec)}]'
                     + (f'; its keys go in [{esc(target)}].' if target != sec else '.'))
        desc = esc(t['description'] or '')
        if desc and not desc.endswith('.'):
            desc += '.'
        out += [(desc + where).strip(), '']
        if not t['keys']:
            out += ['No keys of its own.', '']
        for k in t['keys']:
            out += key_lines(k)
    out += ['# SEE ALSO', '', '*mosaic*(1), *mosaic-plugins.ini*(5)']
    print('\n'.join(out))


if __name__ == '__main__':
    main()
