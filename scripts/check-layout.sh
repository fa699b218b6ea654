#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Checks the layout of lib/ that docs/architecture.md describes, on the sources alone (no build):
#
#   climb     A file in lib/ includes headers only from its own folder or from a folder of a
#             strictly lower layer (LAYERS below): nothing below includes anything above it, and
#             two folders of one layer do not include each other. System headers <...>, the
#             public <ckpt/...> and the headers protoc-c generates ("*.pb-c.h") go everywhere.
#   rank      Every folder of lib/ has a layer in LAYERS (a new folder is ranked, not forgotten);
#             no source sits in lib/ itself.
#   include   A quoted include names a header that exists ("file.h" in the file's own folder,
#             "folder/file.h" from lib/), or a generated one: else the climb check cannot see it.
#   proc      /proc is read in one place: no "/proc string literal and no syscall( in lib/
#             outside lib/proc/ (and the glibc fallbacks of lib/base/compat.h). Comments are
#             not code: they are stripped first.
#   protobuf  The request builder alone fills CRIU's RPC messages (the transport sends what it
#             is given): no write to a field of a message of proto/rpc.proto, no criu_*__init()
#             or CRIU_*__INIT, outside PB_WRITERS. Reading one (a reply, a notification) is free.
#   header    Each NAME.c has its NAME.h beside it, declaring what other files may call; except
#             a .c that implements only public API (every function it defines with external
#             linkage is a ckpt_* declared in include/ckpt/: checked, not listed), and the parts
#             of a concern split over several files, listed in HEADER_PARTS with their header.
#   cycle     No cycle among the folders of lib/ (folder A -> B: a file of A includes a header
#             of B), nor among the modules of lib/ and cli/ (module X: X.c and X.h, a listed
#             part with its header's module, a lone header by itself). Module A depends on B if
#             a file of A includes a header of B, or if A's .c calls (or declares) a function
#             with external linkage that B's .c defines: cli/ shares one header (ckpt-cli.h),
#             so there the calls are what shows the arrows. A function only referred to (a
#             command table's pointers) is no arrow. One line per cycle: the shortest through
#             each module.
#   quiet     The library never prints nor exits (docs: "never exits or prints"): no call in lib/
#             of printf, fprintf, vprintf, vfprintf, puts, fputs, putchar, perror, the err.h
#             family (err, errx, warn, warnx, verr, ...), exit, quick_exit, abort, nor of libc's
#             assert() (lib/ checks with assert_return; static_assert and _Static_assert are
#             compile-time and fine), and no stdout or stderr named. _exit() is allowed: only a
#             forked child calls it, before or instead of its exec (lib/rpc/swrk.c). So are
#             snprintf and vsnprintf into a buffer, and write() (or dprintf) to an fd the
#             library owns (a state file, a wake-up pipe, an archive). On code with comments
#             and strings blanked: `printf` in a comment or a message is no call.
#   global    The library keeps no global mutable state (docs: "keeps no global mutable
#             state"): no variable with static storage in lib/ that is not const itself: at file
#             scope (static or not, or declared extern), and a `static` in a function. A const
#             table is fine (`static const int t[]`, `static const char *const names[]`);
#             `static const char *names[]` is not (its pointers are mutable), nor is
#             `_Thread_local`/`__thread` state. Function declarations and definitions, extern
#             const objects, typedefs, struct/union/enum definitions and macros are no variables.
#             One kind of exception, listed in DL_TABLES: the table of an optional library loaded on
#             first use (lib/base/dl.h), written once under pthread_once and read-only after; a
#             listed file must call pthread_once, and a listed name that is gone is reported.
#
# The protobuf check is a heuristic, on text with comments and strings blanked, one line at a
# time. It tracks, by name, (a) variables, parameters and struct members declared in a file
# with a message type of proto/rpc.proto (CriuOpts, CriuReq, ...; not `const T *`, which the
# compiler keeps read-only), (b) members declared with such a type in any header of lib/
# (`CriuOpts *pb` in opts.h, `CriuReq req` in request.h) and (c) the message-typed fields of
# the messages themselves (req.opts, opts->ps, resp->notify). A write is `X->f =`, `X.f op=`,
# `X->f[i] =`, `X->f++`, `++X.f`, where the object just left of the written field f is one of
# those names: `rq.req.opts->rst_sibling = 1`, `o->pb->pid = 1`, `ack.type = 0`. It does not
# see: a write through a function's out-parameter (`set(&pb->pid)`), memcpy/memset into a
# message, a pointer of another name (`int32_t *p = &pb->pid; *p = 1`), a message declared
# through a typedef of its own, a statement split over lines before its `=`. It can flag a
# write to a member of another struct that happens to have one of the tracked names (opts,
# ps, req, ...) and a message-typed member below it. Packing and unpacking (criu_req__pack,
# __unpack, __get_packed_size, __free_unpacked) are not writes.
#
# The global check is a heuristic too, on the same blanked text with preprocessor lines (so
# macros) blanked as well. It cuts the file into statements at `;` outside brackets, and tells
# a function's body from a type's or an initializer's braces by what precedes the `{` (a `)`,
# perhaps an attribute macro after it; no `=`, no struct/union/enum just before). A file-scope
# statement declares objects unless it is a typedef, a _Static_assert, a struct/union/enum
# definition or forward declaration, or has a `(` not opening a pointer declarator `(*`: a
# function's declaration, a macro's call. In a function body it looks only at statements with
# static, _Thread_local or __thread. An object is const if `const` follows the last `*` of its
# declarator (or, with no `*`, appears in its specifiers): `int *const p`, not `const int *p`;
# `void (*const f)(void)`. It does not see state declared by a macro, and braces that do not
# balance within each #if branch can mislead it. It flags an object whose const is hidden in a
# typedef (`typedef char *const cp; static cp s;`): write the const in the declaration.
#
#   scripts/check-layout.sh [ROOT]     ROOT: the tree to check (default: this repository)
#
# Prints FILE:LINE: RULE: explanation for each violation and exits 1; else one summary line
# and exits 0. Exit 2: ROOT is not a tree with lib/ and proto/rpc.proto.
set -eu

# The layers of lib/, lowest first: RANK FOLDER. A file includes headers from its own folder
# or from a folder of a strictly lower rank.
LAYERS='
0 base
1 diagnose
2 proc
3 net
3 images
4 rpc
5 ops
5 archive
6 migrate
'

# The parts of a concern split over several files, each with the header of the concern (which
# must exist): a listed .c needs no header of its own; a listed .h is the parts' internal header.
# For the cycle check a part is its concern's module. Keep it short: a part of nothing gets its
# own header; a .c that implements only public API needs no entry.
HEADER_PARTS='
migrate/chan-frame.c  migrate/chan.h     # the channel, split by concern:
migrate/chan-auth.c   migrate/chan.h     #   the socket and frames, the authentication,
migrate/chan-msg.c    migrate/chan.h     #   the messages, the image files;
migrate/chan-files.c  migrate/chan.h
migrate/chan-open.c   migrate/chan.h     #   the channel opened and freed, on top of them all;
migrate/chan-int.h    migrate/chan.h     #   what the parts share
migrate/net.c         migrate/migrate.h  # migration: TCP, for both sides
migrate/options.c     migrate/migrate.h  # migration: the options and the record
rpc/opts-values.c     rpc/opts.h         # ckpt_opts: the setters of structured values
images/image-file.c     images/images.h      # the images reader, split by concern, bottom up:
images/images-detail.c  images/images.h      #   one image file, the detail, the files every
images/images-files.c   images/images.h      #   read takes; the getters and JSON;
images/images-get.c     images/images.h
images/images-int.h     images/images.h      #   what the parts share
archive/archive-meta.c  archive/archive-common.h  # archives: config.dump and spec.dump
migrate/source-prepare.c   migrate/source-int.h   # the source, split by phase:
migrate/source-held.c      migrate/source-int.h   #   before the freeze, while held at post-dump
migrate/receive-session.c  migrate/receive-int.h  # the receiver: its record and directories,
migrate/receive-criu.c     migrate/receive-int.h  #   the page server and lazy-pages daemon
'

# The tables of the optional libraries loaded on first use (lib/base/dl.h): FILE NAME. Each is
# written once, under pthread_once, and read-only after: the only mutable static state in lib/.
DL_TABLES='
archive/dl-archive.c  dl_archive_table   # libarchive, libzstd
migrate/dl-gnutls.c   dl_gnutls_table    # GnuTLS
net/dl-nl.c           dl_nl_table        # libnl-3, libnl-route-3
'

# The files that may write a field of an RPC message: the options and the request builder.
PB_WRITERS='rpc/opts.c rpc/opts-values.c rpc/oci.c rpc/request.c'

# Where "/proc and syscall( may appear (a folder ends in /).
PROC_PLACES='proc/ base/compat.h'

if [ $# -gt 1 ]; then
	echo "usage: $0 [ROOT]" >&2
	exit 2
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
if [ ! -d "$root/lib" ] || [ ! -f "$root/proto/rpc.proto" ]; then
	echo "check-layout: $root is not a libckpt tree (no lib/ or proto/rpc.proto)" >&2
	exit 2
fi
command -v python3 >/dev/null || {
	echo "check-layout: python3 missing" >&2
	exit 2
}
export LAYERS HEADER_PARTS DL_TABLES PB_WRITERS PROC_PLACES

exec python3 - "$root" <<'PY'
import os
import re
import sys
from collections import deque

ROOT = sys.argv[1]
os.chdir(ROOT)


def table(text):
    """The non-empty lines of a table, comments dropped, split on blanks."""
    rows = []
    for line in text.splitlines():
        line = line.split('#', 1)[0].split()
        if line:
            rows.append(line)
    return rows


RANK = {folder: int(rank) for rank, folder in table(os.environ['LAYERS'])}
PARTS = {c: h for c, h in table(os.environ['HEADER_PARTS'])}
DL_TABLES = {('lib/' + f, n) for f, n in table(os.environ['DL_TABLES'])}
DL_SEEN = set()
PB_WRITERS = set(os.environ['PB_WRITERS'].split())
PROC_PLACES = os.environ['PROC_PLACES'].split()

violations = []


def report(path, line, rule, text):
    violations.append((path, line, rule, text))


def strip(src):
    """(code, bare): src with comments blanked; bare also blanks the inside of string and char
    literals. Both keep every newline, so line numbers hold."""
    code, bare = [], []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == '/' and src.startswith('//', i):
            j = src.find('\n', i)
            j = n if j < 0 else j
            code.append(' ' * (j - i))
            bare.append(' ' * (j - i))
            i = j
        elif c == '/' and src.startswith('/*', i):
            j = src.find('*/', i + 2)
            j = n if j < 0 else j + 2
            blank = re.sub(r'[^\n]', ' ', src[i:j])
            code.append(blank)
            bare.append(blank)
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and src[j] != c and src[j] != '\n':
                j += 2 if src[j] == '\\' else 1
            j = min(j + 1, n)
            code.append(src[i:j])
            bare.append(c + re.sub(r'[^\n]', ' ', src[i + 1:j - 1]) + src[j - 1:j])
            i = j
        else:
            j = i + 1
            while j < n and src[j] not in '/"\'':
                j += 1
            code.append(src[i:j])
            bare.append(src[i:j])
            i = j
    return ''.join(code), ''.join(bare)


def sources(top):
    out = []
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            if f.endswith(('.c', '.h')):
                out.append(os.path.join(d, f))
    return out


LIB = sources('lib')
CLI = sources('cli') if os.path.isdir('cli') else []
TEXT = {}
for p in LIB + CLI:
    with open(p, errors='replace') as f:
        TEXT[p] = strip(f.read())


def lines(s):
    return enumerate(s.split('\n'), 1)


def folder_of(path):
    """lib/rpc/opts.c -> rpc; lib/x.c -> ''; cli/main.c -> cli."""
    parts = path.split('/')
    if parts[0] == 'lib':
        return parts[1] if len(parts) > 2 else ''
    return parts[0]


def rel(path):
    return path[4:] if path.startswith('lib/') else path


# ---- rank: every folder of lib/ has a layer ----------------------------------------------
seen_folders = {}
for p in LIB:
    seen_folders.setdefault(folder_of(p), p)
for fo, first in sorted(seen_folders.items()):
    if fo == '':
        report(first, 1, 'rank', 'a source in lib/ itself: it belongs in a folder of a layer')
    elif fo not in RANK:
        report(first, 1, 'rank', f'folder lib/{fo}/ has no layer: add it to LAYERS in '
               'scripts/check-layout.sh (and to docs/architecture.md)')

# ---- includes: climb, include; the edges of both graphs -----------------------------------
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
includes = []  # (file, line, target file or None, name as written)
n_includes = 0
for p in LIB + CLI:
    here = os.path.dirname(p)
    for ln, line in lines(TEXT[p][0]):
        m = INCLUDE.match(line)
        if not m:
            continue
        n_includes += 1
        name = m.group(1)
        if name.endswith('.pb-c.h'):
            continue  # generated from proto/: allowed everywhere
        target = None
        for cand in (os.path.join(here, name), os.path.join('lib', name)):
            cand = os.path.normpath(cand)
            if cand in TEXT:
                target = cand
                break
        if target is None:
            report(p, ln, 'include', f'"{name}" names no header of {here}/ or lib/ '
                   '(across folders: "folder/file.h")')
            continue
        includes.append((p, ln, target, name))

for p, ln, target, name in includes:
    if not p.startswith('lib/') or not target.startswith('lib/'):
        continue
    a, b = folder_of(p), folder_of(target)
    if a == b or a not in RANK or b not in RANK:
        continue
    if RANK[b] >= RANK[a]:
        how = 'the same layer' if RANK[b] == RANK[a] else 'a higher layer'
        report(p, ln, 'climb', f'{a} (layer {RANK[a]}) includes "{name}" of {b} '
               f'({how}, {RANK[b]}): only its own folder and lower layers')

# ---- proc: "/proc and syscall( only in lib/proc/ and base/compat.h --------------------------
SYSCALL = re.compile(r'(?<![\w.>])syscall\s*\(')
for p in LIB:
    r = rel(p)
    if any(r.startswith(pl) if pl.endswith('/') else r == pl for pl in PROC_PLACES):
        continue
    code, bare = TEXT[p]
    for (ln, cl), (_, bl) in zip(lines(code), lines(bare)):
        if '"/proc' in cl:
            report(p, ln, 'proc', 'a "/proc path outside lib/proc/: /proc is read in one place '
                   '(lib/proc/procfs.c)')
        if SYSCALL.search(bl):
            report(p, ln, 'proc', 'syscall() outside lib/proc/ and base/compat.h: raw system '
                   'calls (pidfds) are lib/proc/\'s')

# ---- protobuf: only PB_WRITERS write RPC messages -----------------------------------------
with open('proto/rpc.proto', errors='replace') as f:
    proto = re.sub(r'//[^\n]*', '', f.read())


def camel(name):
    return ''.join(w[:1].upper() + w[1:] for w in name.split('_'))


messages = set(re.findall(r'\bmessage\s+(\w+)\s*\{', proto))
MSG_TYPES = {camel(m) for m in messages}
MSG_FIELDS = set()  # fields whose type is a message: req.opts, opts->ps, resp->notify
for label, typ, field in re.findall(r'\b(optional|required|repeated)\s+([\w.]+)\s+(\w+)\s*=', proto):
    if typ in messages:
        MSG_FIELDS.add(field)
types = '|'.join(sorted(MSG_TYPES, key=len, reverse=True))
DECL = re.compile(r'(\bconst\s+)?\b(?:' + types + r')\b(\s*(?:\*\s*(?:const\b\s*)?)*)\s*([A-Za-z_]\w*)'
                  r'\s*(?=[;,=)\[])')
INIT = re.compile(r'\b(?:(' + '|'.join(sorted(messages)) + r')__init\s*\(|(' +
                  '|'.join(sorted(m.upper() for m in messages)) + r')__INIT\b)')


def declared(bare):
    names = set()
    for m in DECL.finditer(bare):
        if m.group(1):
            continue  # const T *: read-only
        names.add(m.group(3))
    return names


MEMBERS = set()  # members declared with a message type in a header of lib/
for p in LIB:
    if p.endswith('.h'):
        for m in DECL.finditer(TEXT[p][1]):
            if not m.group(1) and TEXT[p][1][m.end():].lstrip().startswith(';'):
                MEMBERS.add(m.group(3))

ACCESS = r'(?:\s*(?:->|\.)\s*[A-Za-z_]\w*|\s*\[[^\]\n]*\])'
ASSIGN_OP = r'(?:(?:[-+*/%&|^]|<<|>>)?=(?!=)|\+\+|--)'
WRITE = re.compile(r'(?<![\w.>])([A-Za-z_]\w*)(' + ACCESS + r'*)\s*' + ASSIGN_OP)
PRE_WRITE = re.compile(r'(?:\+\+|--)\s*([A-Za-z_]\w*)(' + ACCESS + r'+)')
NAMES = re.compile(r'(?:->|\.)\s*([A-Za-z_]\w*)')


def field_write(root, chain, file_names):
    """(object, field) if the chain writes a field of a tracked message, else None."""
    names = NAMES.findall(re.sub(r'\[[^\]\n]*\]', '', chain))
    if not names:
        return None
    path = [root] + names
    # whether each object of the path is a message: the root by its declaration in this file;
    # a member by its declaration (this file, a header) or as a message-typed field of a message
    tracked = root in file_names
    for name in path[1:-1]:
        tracked = name in file_names or name in MEMBERS or (tracked and name in MSG_FIELDS)
    return (path[-2], path[-1]) if tracked else None


for p in LIB:
    if not p.endswith('.c') and not p.endswith('.h'):
        continue
    if rel(p) in PB_WRITERS:
        continue
    bare = TEXT[p][1]
    file_names = declared(bare)
    for ln, line in lines(bare):
        if line.lstrip().startswith('#'):
            continue
        hits = []
        for m in WRITE.finditer(line):
            hits.append(field_write(m.group(1), m.group(2), file_names))
        for m in PRE_WRITE.finditer(line):
            hits.append(field_write(m.group(1), m.group(2), file_names))
        for hit in hits:
            if hit:
                report(p, ln, 'protobuf', f'writes {hit[0]}.{hit[1]} of an RPC message: only '
                       'the options and the request builder fill one (' +
                       ', '.join(sorted(PB_WRITERS)) + ')')
                break
        m = INIT.search(line)
        if m:
            report(p, ln, 'protobuf', f'initialises an RPC message ({m.group(0).rstrip("(").strip()}) '
                   'to fill it: only the options and the request builder build one')

# ---- quiet: the library never prints nor exits ---------------------------------------------
QUIET = re.compile(r'(?<![\w.>])(printf|fprintf|vprintf|vfprintf|puts|fputs|putchar|perror|'
                   r'err|errx|verr|verrx|warn|warnx|vwarn|vwarnx|exit|quick_exit|abort|'
                   r'assert)\s*\(')
STDIO = re.compile(r'(?<![\w.>])(stdout|stderr)\b')
for p in LIB:
    for ln, line in lines(TEXT[p][1]):
        hit = False
        for m in QUIET.finditer(line):
            hit, name = True, m.group(1)
            if name == 'assert':
                why = 'the libc assert() aborts the caller: check and return (assert_return)'
            elif name in ('exit', 'quick_exit', 'abort'):
                why = 'the library never ends its caller: return an error (ckpt_err)'
            else:
                why = 'the library never prints: return the text (ckpt_err) or write to a buffer'
            report(p, ln, 'quiet', f'{name}() in lib/: {why}')
        m = STDIO.search(line)
        if m and not hit:
            report(p, ln, 'quiet', f'{m.group(1)} in lib/: the library never prints: return the '
                   'text (ckpt_err) or write to a buffer')


# ---- global: no mutable state with static storage ------------------------------------------
def blank_cpp(bare):
    """bare with preprocessor lines (and their continuations) blanked: macros are no code."""
    out, cont = [], False
    for line in bare.split('\n'):
        if cont or line.lstrip().startswith('#'):
            cont = line.endswith('\\')
            line = ' ' * len(line)
        out.append(line)
    return '\n'.join(out)


OPEN, CLOSE = '([{', ')]}'


def close_of(s, i):
    """The index just past the bracket that closes the one at s[i] (len(s) if none)."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] in OPEN:
            depth += 1
        elif s[j] in CLOSE:
            depth -= 1
            if depth == 0:
                return j + 1
    return len(s)


def top_split(s, sep):
    """s split on sep outside every bracket."""
    parts, depth, start = [], 0, 0
    for j, c in enumerate(s):
        if c in OPEN:
            depth += 1
        elif c in CLOSE:
            depth -= 1
        elif c == sep and depth == 0:
            parts.append(s[start:j])
            start = j + 1
    parts.append(s[start:])
    return parts


ATTR = re.compile(r'\b(?:__attribute__|_Alignas|alignas|__declspec|__typeof__|__typeof|typeof)\s*\(')


def no_attrs(s):
    """s without __attribute__((...)), alignas(...) (and typeof(...), standing for a type)."""
    while True:
        m = ATTR.search(s)
        if not m:
            return s
        keep = ' T ' if 'typeof' in m.group(0) else ' '
        s = s[:m.start()] + keep + s[close_of(s, m.end() - 1):]


def flat(s, o):
    """s with the inside of every top-level o-bracket ('{' or '[') emptied."""
    out, j = [], 0
    while j < len(s):
        if s[j] == o:
            k = close_of(s, j)
            out.append(s[j] + s[k - 1:k])
            j = k
        else:
            out.append(s[j])
            j += 1
    return ''.join(out)


def object_of(decl):
    """(name, const) of the object decl (specifiers and one declarator, no initializer)
    declares: const if the object itself is: `const int t[]`, `const char *const n[]`,
    `void (*const f)(void)`; not `const char *n[]` (its pointers are not)."""
    d = flat(flat(decl, '{'), '[')
    m = re.search(r'\(\s*\*', d)
    if m:
        d = d[m.start() + 1:close_of(d, m.start()) - 1]  # the pointer declarator: (*...)
    star = d.rfind('*')
    words = re.findall(r'[A-Za-z_]\w*', d)
    return (words[-1] if words else '?',
            re.search(r'\bconst\b', d[star + 1:] if star >= 0 else d) is not None)


def declared_names(stmt):
    """[(name, const)] of the objects stmt declares, or None if it declares none: a
    function's declaration, a typedef, a struct/union/enum definition or forward
    declaration, a macro's call, a _Static_assert."""
    s = no_attrs(stmt).strip()
    if not s or re.match(r'(?:typedef|_Static_assert|static_assert)\b', s):
        return None
    pieces = top_split(s, ',')
    first = top_split(pieces[0], '=')[0]
    f = flat(first, '{')
    if re.fullmatch(r'[\w\s]*\b(?:struct|union|enum)\b\s*\w*\s*(?:\{\})?\s*', f):
        return None  # a type: defined or declared, no object
    paren = re.search(r'\(', f)
    if paren and not re.match(r'\(\s*[*^]', f[paren.start():]):
        return None  # a function's declaration, or a macro's call
    # the specifiers the other declarators share: up to the first declarator's * or (, else
    # up to its name
    cut = re.search(r'[*(]', f)
    spec = f[:cut.start()] if cut else re.sub(r'\w+\s*(?:\[\])*\s*$', '', flat(f, '['))
    out = []
    for k, piece in enumerate(pieces):
        head = top_split(piece, '=')[0]
        out.append(object_of(head if k == 0 else spec + ' ' + head))
    return out


STORAGE_WORD = re.compile(r'\b(?:static|_Thread_local|__thread|thread_local)\b')


def statement_end(s, i):
    """The index of the ';' that ends the statement from s[i] (brackets skipped), or len(s)."""
    while i < len(s):
        if s[i] in OPEN:
            i = close_of(s, i)
        elif s[i] == ';' or s[i] in CLOSE:
            return i
        else:
            i += 1
    return len(s)


def check_global(p, text, start, stmt, where):
    got = declared_names(stmt)
    if not got:
        return
    mutable = [n for n, c in got if not c]
    if where == 'at file scope' and 'pthread_once(' in text:
        DL_SEEN.update((p, n) for n in mutable if (p, n) in DL_TABLES)
        mutable = [n for n in mutable if (p, n) not in DL_TABLES]
    if not mutable:
        return
    lead = len(stmt) - len(stmt.lstrip())
    ln = text.count('\n', 0, start + lead) + 1
    how = ' (thread-local)' if re.search(r'\b(?:_Thread_local|__thread|thread_local)\b', stmt) else ''
    how += ' (declared extern)' if re.search(r'\bextern\b', stmt) else ''
    report(p, ln, 'global', f'{", ".join(mutable)}: mutable state with static storage{how} '
           f'{where}: the library keeps none (make it const, or move it into the caller\'s object)')


def check_body(p, text, lo, hi):
    """The static (and thread-local) declarations in a function body text[lo:hi]."""
    done = -1
    for m in STORAGE_WORD.finditer(text, lo, hi):
        if m.start() < done:
            continue
        b = max(text.rfind(c, lo, m.start()) for c in ';{}') + 1
        b = max(b, lo)
        e = statement_end(text, m.start())
        done = e
        check_global(p, text, b, text[b:e], 'in a function')


for p in LIB:
    text = blank_cpp(TEXT[p][1])
    i, start, n = 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == ';':
            check_global(p, text, start, text[start:i], 'at file scope')
            start = i + 1
        elif c == '{':
            head = flat(no_attrs(text[start:i]), '(')
            if re.search(r'\bextern\s*"\s*"\s*$', head):
                start = i + 1  # extern "C" {: its body is file scope
            elif ('=' in head or re.search(r'\b(?:struct|union|enum)\b\s*\w*\s*$', head)
                  or not head.rstrip().endswith(')') and not re.search(r'\)\s*\w+\s*$', head)):
                i = close_of(text, i)  # an initializer or a type's body: the statement goes on
                continue
            else:
                end = close_of(text, i)
                check_body(p, text, i + 1, end - 1)
                start = i = end
                continue
        elif c == '}':
            start = i + 1  # the end of an extern "C" block
        i += 1
    if text[start:].strip():
        check_global(p, text, start, text[start:], 'at file scope')
for p, n in sorted(DL_TABLES - DL_SEEN):
    report(p, 1, 'global', f'DL_TABLES lists {n} here, but no such table is declared at file scope '
           'in a file that calls pthread_once: update DL_TABLES')

# ---- function definitions (external and static), for header and cycle ------------------------
DEF = re.compile(r'^(?!(?:if|for|while|switch|return|else|do|typedef)\b)[A-Za-z_][\w \t*]*?\b([A-Za-z_]\w*)'
                 r'\s*\(([^;{}]*)\)\s*(?:__attribute__\s*\(\(.*?\)\)\s*)?\{', re.M)


def definitions(p):
    """{name: (line, external)} of the functions p defines."""
    bare = TEXT[p][1]
    out = {}
    for m in DEF.finditer(bare):
        ln = bare.count('\n', 0, m.start(1)) + 1
        out[m.group(1)] = (ln, not m.group(0).startswith('static'))
    return out


DEFS = {p: definitions(p) for p in LIB + CLI if p.endswith('.c')}

public = set()
if os.path.isdir('include/ckpt'):
    for f in sorted(os.listdir('include/ckpt')):
        with open(os.path.join('include/ckpt', f), errors='replace') as fh:
            public |= set(re.findall(r'\b(ckpt_\w+)\s*\(', strip(fh.read())[1]))

# ---- header: NAME.c has NAME.h -----------------------------------------------------------
for part, hdr in sorted(PARTS.items()):
    if 'lib/' + part not in TEXT or 'lib/' + hdr not in TEXT:
        report('lib/' + part, 1, 'header', f'HEADER_PARTS lists it as a part of lib/{hdr}: '
               f'one of the two does not exist')
for c in (p for p in LIB if p.endswith('.c')):
    if c[:-2] + '.h' in TEXT or rel(c) in PARTS:
        continue
    private = sorted((ln, name) for name, (ln, ext) in DEFS[c].items()
                     if ext and not (name.startswith('ckpt_') and name in public))
    if not private:
        continue  # implements public API only
    ln, name = private[0]
    more = f' (and {len(private) - 1} more)' if len(private) > 1 else ''
    report(c, ln, 'header', f'no {os.path.basename(c)[:-2]}.h beside it, and {name}(){more} is '
           'not public API: give it its header, or list it in HEADER_PARTS with the header it is a part of')

# ---- cycle: folders, then modules ----------------------------------------------------------


def module_of(p):
    if rel(p) in PARTS:
        return ('lib/' + PARTS[rel(p)])[:-2]
    return p[:-2]


def cycles(edges):
    """The shortest cycle through each node that is on one, each cycle once, as node lists."""
    adj = {}
    for (a, b) in edges:
        adj.setdefault(a, set()).add(b)
    found, out = set(), []
    for start in sorted(adj):
        prev = {}
        q = deque([start])
        hit = None
        while q and hit is None:
            u = q.popleft()
            for v in sorted(adj.get(u, ())):
                if v == start:
                    hit = u
                    break
                if v not in prev:
                    prev[v] = u
                    q.append(v)
        if hit is None:
            continue
        path = [hit]
        while path[-1] != start:
            path.append(prev[path[-1]])
        path.reverse()
        key = frozenset(zip(path, path[1:] + path[:1]))
        if key in found:
            continue
        found.add(key)
        out.append(path)
    return out


def first_edges(pairs):
    """{(a, b): the first witness} from (a, b, witness) with witness = (file, line, what)."""
    out = {}
    for a, b, w in sorted(pairs, key=lambda t: (t[0], t[1], t[2][0], t[2][1])):
        if a != b:
            out.setdefault((a, b), w)
    return out


fedges = first_edges((folder_of(p), folder_of(t), (p, ln, f'includes "{n}"'))
                     for p, ln, t, n in includes if p.startswith('lib/') and t.startswith('lib/'))
medges_raw = [(module_of(p), module_of(t), (p, ln, f'includes "{n}"')) for p, ln, t, n in includes]

owner = {}  # external function -> the module defining it
for c, defs in DEFS.items():
    for name, (ln, ext) in defs.items():
        if ext:
            owner.setdefault(name, module_of(c))
CALL = re.compile(r'(?<![\w.>])([A-Za-z_]\w*)\s*\(')
for c, defs in DEFS.items():
    me = module_of(c)
    for ln, line in lines(TEXT[c][1]):
        if line.lstrip().startswith('#'):
            continue
        for m in CALL.finditer(line):
            name = m.group(1)
            if name in defs or name not in owner or owner[name] == me:
                continue
            if c.split('/')[0] != owner[name].split('/')[0]:
                continue  # lib/ and cli/ are separate programs' worth of modules
            medges_raw.append((me, owner[name], (c, ln, f'uses {name}()')))
medges = first_edges(medges_raw)


def report_cycles(edges, rule_what, show):
    for cyc in cycles(edges):
        steps = list(zip(cyc, cyc[1:] + cyc[:1]))
        w0 = edges[steps[0]]
        why = '; '.join(f'{edges[s][0]}:{edges[s][1]} {edges[s][2]}' for s in steps)
        names = ' -> '.join(show(x) for x in cyc + cyc[:1])
        report(w0[0], w0[1], 'cycle', f'{rule_what} {names}: {why}')


report_cycles(fedges, 'folders', lambda x: x)
report_cycles(medges, 'modules', rel)

# ---- the report --------------------------------------------------------------------------
seen = set()
for v in sorted(violations, key=lambda v: (v[0], v[1], v[2], v[3])):
    if v in seen:
        continue
    seen.add(v)
    print(f'{v[0]}:{v[1]}: {v[2]}: {v[3]}')
files = len(LIB) + len(CLI)
if seen:
    print(f'check-layout: {len(seen)} violation(s) in {files} files')
    sys.exit(1)
print(f'check-layout: ok: {files} files, {n_includes} includes, {len(RANK)} layers, '
      f'{len(fedges)} folder and {len(medges)} module arrows, no cycle')
PY
