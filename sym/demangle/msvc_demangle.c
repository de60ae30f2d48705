/* SPDX-License-Identifier: MIT */
/*
 * msvc_demangle: entry point, per-call arena, and the parser of symbols
 * and function signatures.  The other parts of the grammar are in
 * msvc_demangle_type.c, msvc_demangle_name.c, msvc_demangle_special.c and
 * msvc_demangle_literal.c; printing is in msvc_demangle_print.c.  The grammar
 * and the spelling of the output follow LLVM's MicrosoftDemangle (llvm-undname
 * is our test oracle).
 *
 * WHERE WE DIFFER FROM llvm-undname-14, on purpose:
 *   - It clears its error flag whenever it starts a pointer type (its
 *     isMemberPointer() takes the parser's Error by reference and resets
 *     it), so some malformed names, e.g. with a bad function class before
 *     a pointer return type, still print.  We reject them.
 *   - It reads one vftable target, "{for `A'}", and ignores the rest; we
 *     print them all, "{for `A's `B'}", as later LLVM does.
 * Quirks we copy so real names print the same: thunk and RTTI offsets
 * are 32-bit, wide string literals are not checked against their length,
 * function pointers keep their calling convention when it is otherwise
 * left out, and a vftable target list may end with the name.
 */
#include "symsrvd_config.h"
#include "demangle/msvc_demangle.h"

#include <stdlib.h>
#include <string.h>

#include "demangle/msvc_demangle_int.h"
#include "xalloc.h"

/* Deep enough for any real name (templates of templates nest a few dozen
 * levels at most), shallow enough for a small thread stack. */
#define MSD_MAX_DEPTH 160
/* Nodes plus rendered back-reference strings of one call. */
#define MSD_MAX_ARENA (4u * 1024 * 1024)
#define MSD_CHUNK     4096

struct msd_chunk {
    struct msd_chunk *next;
    size_t used;
    size_t size;
    max_align_t data[];
};

void *msd_alloc(struct msd *d, size_t size)
{
    struct msd_chunk *c = d->chunks;
    void *p;

    size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    d->arena_used += size;
    if (d->arena_used > MSD_MAX_ARENA)
        d->err = true; /* finish this allocation; parsers stop at err */
    if (c == NULL || c->size - c->used < size) {
        size_t n = size > MSD_CHUNK ? size : MSD_CHUNK;

        c = xmalloc(sizeof(*c) + n);
        c->used = 0;
        c->size = n;
        c->next = d->chunks;
        d->chunks = c;
    }
    p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

static void msd_free_arena(struct msd *d)
{
    while (d->chunks != NULL) {
        struct msd_chunk *next = d->chunks->next;

        free(d->chunks);
        d->chunks = next;
    }
}

struct msd_node *msd_new(struct msd *d, enum msd_kind kind)
{
    struct msd_node *n = msd_alloc(d, sizeof(*n));

    n->kind = kind;
    return n;
}

bool msd_peek(const struct msd *d, const char *prefix)
{
    size_t n = strlen(prefix);

    return (size_t)(d->end - d->p) >= n && memcmp(d->p, prefix, n) == 0;
}

bool msd_eat(struct msd *d, const char *prefix)
{
    if (!msd_peek(d, prefix))
        return false;
    d->p += strlen(prefix);
    return true;
}

bool msd_peek_digit(const struct msd *d)
{
    return d->p < d->end && *d->p >= '0' && *d->p <= '9';
}

bool msd_enter(struct msd *d)
{
    if (d->err)
        return false;
    if (++d->depth > MSD_MAX_DEPTH) {
        d->err = true;
        d->depth--;
        return false;
    }
    return true;
}

void msd_leave(struct msd *d)
{
    d->depth--;
}

struct msd_node *msd_list_new(struct msd *d)
{
    return msd_new(d, MSD_N_LIST);
}

/* Lists grow in the arena ('len' is their capacity), so their length is
 * bounded by the arena limit rather than by a fixed array. */
void msd_list_push(struct msd *d, struct msd_node *list, struct msd_node *item)
{
    if (list->count == list->len) {
        size_t cap = list->len > 0 ? 2 * list->len : 8;
        struct msd_node **items = msd_alloc(d, cap * sizeof(*items));

        if (list->count > 0)
            memcpy(items, list->items, list->count * sizeof(*items));
        list->items = items;
        list->len = cap;
    }
    list->items[list->count++] = item;
}

/* The next byte, consumed; '\0' (and err set) at the end of input. */
char msd_next(struct msd *d)
{
    if (d->p >= d->end) {
        d->err = true;
        return '\0';
    }
    return *d->p++;
}

/* --- qualifiers, classes, calling conventions ------------------------- */

/* <cvr-qualifiers>: sets *MEMBER for the Q..T (member) forms. */
unsigned msd_quals(struct msd *d, bool *member)
{
    static const unsigned q[4] = {0, MSD_Q_CONST, MSD_Q_VOLATILE,
                                  MSD_Q_CONST | MSD_Q_VOLATILE};
    char c = msd_next(d);
    bool dummy;

    if (member == NULL)
        member = &dummy;
    *member = c >= 'Q' && c <= 'T';
    if (c >= 'A' && c <= 'D')
        return q[c - 'A'];
    if (*member)
        return q[c - 'Q'];
    d->err = true;
    return 0;
}

unsigned msd_ptr_ext_quals(struct msd *d)
{
    unsigned q = 0;

    if (msd_eat(d, "E"))
        q |= MSD_Q_PTR64;
    if (msd_eat(d, "I"))
        q |= MSD_Q_RESTRICT;
    if (msd_eat(d, "F"))
        q |= MSD_Q_UNALIGNED;
    return q;
}

const char *msd_calling_convention(struct msd *d)
{
    static const char *const cc[26] = {
        ['A' - 'A'] = "__cdecl",
        ['B' - 'A'] = "__cdecl",
        ['C' - 'A'] = "__pascal",
        ['D' - 'A'] = "__pascal",
        ['E' - 'A'] = "__thiscall",
        ['F' - 'A'] = "__thiscall",
        ['G' - 'A'] = "__stdcall",
        ['H' - 'A'] = "__stdcall",
        ['I' - 'A'] = "__fastcall",
        ['J' - 'A'] = "__fastcall",
        ['M' - 'A'] = "__clrcall",
        ['N' - 'A'] = "__clrcall",
        ['O' - 'A'] = "__eabi",
        ['P' - 'A'] = "__eabi",
        ['Q' - 'A'] = "__vectorcall",
        ['S' - 'A'] = "__attribute__((__swiftcall__)) ",
        ['W' - 'A'] = "__attribute__((__swiftasynccall__)) ",
    };
    char c = msd_next(d);

    if (c >= 'A' && c <= 'Z')
        return cc[c - 'A'];
    return NULL; /* unknown conventions print nothing, as in LLVM */
}

/* <function-class>: A..Z encode access x {plain, far} x {member, static,
 * virtual, this-adjusting thunk}; Y/Z are globals; 9 is extern "C"
 * without a signature; $ introduces virtual this-adjusting thunks. */
static unsigned msd_function_class(struct msd *d)
{
    static const unsigned access[3] = {MSD_FC_PRIVATE, MSD_FC_PROTECTED,
                                       MSD_FC_PUBLIC};
    static const unsigned kind[4] = {0, MSD_FC_STATIC, MSD_FC_VIRTUAL,
                                     MSD_FC_VIRTUAL | MSD_FC_STATIC_ADJ};
    char c = msd_next(d);
    unsigned vflag = MSD_FC_VIRTUAL_ADJ;

    if (c == '9')
        return MSD_FC_EXTERN_C | MSD_FC_NO_PARAMS;
    if (c == 'Y' || c == 'Z')
        return MSD_FC_GLOBAL | (c == 'Z' ? MSD_FC_FAR : 0);
    if (c >= 'A' && c <= 'X') {
        int i = c - 'A';
        unsigned k = kind[(i / 2) % 4];

        if (i % 8 / 2 == 3 && i / 8 == 0)
            k = MSD_FC_STATIC_ADJ; /* G/H: private non-virtual adjustor */
        return access[i / 8] | k | ((i & 1) ? MSD_FC_FAR : 0);
    }
    if (c == '$') {
        if (msd_eat(d, "R"))
            vflag |= MSD_FC_VIRTUAL_ADJ_EX;
        c = msd_next(d);
        if (c >= '0' && c <= '5')
            return access[(c - '0') / 2] | MSD_FC_VIRTUAL | vflag |
                   ((c - '0') % 2 ? MSD_FC_FAR : 0);
    }
    d->err = true;
    return MSD_FC_PUBLIC;
}

/* --- functions -------------------------------------------------------- */

/* <parameter-list> ::= X | <type>+ @ | <type>+ Z (variadic).  Types
 * longer than one letter are remembered for the back-references 0-9. */
static struct msd_node *msd_params(struct msd *d, bool *variadic)
{
    struct msd_node *list;

    if (msd_eat(d, "X"))
        return NULL;
    list = msd_list_new(d);
    while (!d->err && !msd_peek(d, "@") && !msd_peek(d, "Z")) {
        const char *start = d->p;
        struct msd_node *t;

        if (msd_peek_digit(d)) {
            size_t i = (size_t)(*d->p++ - '0');

            if (i >= d->br.nparams)
                d->err = true;
            else
                msd_list_push(d, list, d->br.params[i]);
            continue;
        }
        t = msd_parse_type(d, MSD_QM_DROP);
        if (t == NULL)
            break;
        msd_list_push(d, list, t);
        if (d->br.nparams < MSD_MAX_BACKREFS && d->p - start > 1)
            d->br.params[d->br.nparams++] = t;
    }
    if (d->err)
        return NULL;
    if (msd_eat(d, "Z"))
        *variadic = true;
    else
        d->p++; /* '@' */
    return list;
}

struct msd_node *msd_function_type(struct msd *d, bool this_quals)
{
    struct msd_node *f = msd_new(d, MSD_T_FUNC);

    if (this_quals) {
        f->quals = msd_ptr_ext_quals(d);
        if (msd_eat(d, "G"))
            f->refqual = MSD_REF_LVALUE;
        else if (msd_eat(d, "H"))
            f->refqual = MSD_REF_RVALUE;
        f->quals |= msd_quals(d, NULL);
    }
    f->cc = msd_calling_convention(d);
    if (!msd_eat(d, "@")) /* '@': structors have no return type */
        f->type = msd_parse_type(d, MSD_QM_RESULT);
    if (!d->err)
        f->list = msd_params(d, &f->flag);
    if (msd_eat(d, "_E"))
        f->noexcept = true;
    else if (!msd_eat(d, "Z"))
        d->err = true;
    return d->err ? NULL : f;
}

struct msd_node *msd_function_encoding(struct msd *d)
{
    unsigned fc = msd_eat(d, "$$J0") ? MSD_FC_EXTERN_C : 0;
    int64_t adj[4] = {0, 0, 0, 0};
    struct msd_node *f, *sym;

    fc |= msd_function_class(d);
    if (fc & MSD_FC_STATIC_ADJ) {
        adj[3] = msd_signed(d);
    } else if (fc & MSD_FC_VIRTUAL_ADJ) {
        if (fc & MSD_FC_VIRTUAL_ADJ_EX) {
            adj[0] = msd_signed(d);
            adj[1] = msd_signed(d);
        }
        adj[2] = msd_signed(d);
        adj[3] = msd_signed(d);
    }
    if (d->err)
        return NULL;
    if (fc & MSD_FC_NO_PARAMS)
        f = msd_new(d, MSD_T_FUNC);
    else
        f = msd_function_type(d, !(fc & (MSD_FC_GLOBAL | MSD_FC_STATIC)));
    if (f == NULL)
        return NULL;
    if (fc & (MSD_FC_STATIC_ADJ | MSD_FC_VIRTUAL_ADJ))
        fc |= MSD_FC_THUNK;
    f->fclass = fc;
    memcpy(f->num, adj, sizeof(f->num));
    sym = msd_new(d, MSD_S_FUNCTION);
    sym->type = f;
    return sym;
}

/* <variable-type> ::= <type> <cvr-qualifiers>, where for pointers the
 * trailing qualifiers apply to the pointee. */
static struct msd_node *msd_variable(struct msd *d, int storage)
{
    struct msd_node *v = msd_new(d, MSD_S_VARIABLE);
    struct msd_node *t;
    unsigned q;

    v->sub = storage;
    t = v->type = msd_parse_type(d, MSD_QM_DROP);
    if (t == NULL)
        return NULL;
    if (t->kind != MSD_T_POINTER) {
        t->quals = msd_quals(d, NULL);
        return d->err ? NULL : v;
    }
    t->quals |= msd_ptr_ext_quals(d);
    q = msd_quals(d, NULL);
    if (t->name != NULL && !d->err)
        (void)msd_type_name(d); /* the member pointer's class, again */
    t->type->quals |= q;
    return d->err ? NULL : v;
}

static struct msd_node *msd_encoded_symbol(struct msd *d,
                                           struct msd_node *qname)
{
    struct msd_node *id = msd_unqualified(qname);
    struct msd_node *sym;

    if (d->p >= d->end) {
        d->err = true;
        return NULL;
    }
    if (*d->p >= '0' && *d->p <= '4') {
        int storage = MSD_SC_PRIVATE_STATIC + (*d->p++ - '0');

        return msd_variable(d, storage);
    }
    sym = msd_function_encoding(d);
    if (sym != NULL && id->kind == MSD_ID_CONVERSION)
        id->type = sym->type->type;
    return sym;
}

struct msd_node *msd_declarator(struct msd *d)
{
    struct msd_node *qname = msd_symbol_name(d);
    struct msd_node *sym, *id;

    if (d->err)
        return NULL;
    sym = msd_encoded_symbol(d, qname);
    if (d->err || sym == NULL) {
        d->err = true;
        return NULL;
    }
    sym->name = qname;
    id = msd_unqualified(qname);
    if (id->kind == MSD_ID_CONVERSION && id->type == NULL) {
        d->err = true; /* "operator <type>" needs a return type */
        return NULL;
    }
    return sym;
}

struct msd_node *msd_parse_symbol(struct msd *d)
{
    struct msd_node *n = NULL;

    if (!msd_enter(d))
        return NULL;
    if (msd_eat(d, ".")) { /* RTTI type name: a string, not a symbol */
        struct msd_node *t = msd_parse_type(d, MSD_QM_RESULT);

        if (!d->err && d->p == d->end)
            n = msd_described_type(d, t, "`RTTI Type Descriptor Name'");
    } else if (msd_peek(d, "??@")) {
        n = msd_md5_name(d);
    } else if (msd_eat(d, "?")) {
        n = msd_special_intrinsic(d);
        if (n == NULL && !d->err)
            n = msd_declarator(d);
    }
    msd_leave(d);
    if (n == NULL || d->err) {
        d->err = true;
        return NULL;
    }
    return n;
}

char *demangle_msvc(const char *name, unsigned flags)
{
    struct msd d;
    struct msd_out o = {NULL, 0, 0, false};
    struct msd_node *sym;
    size_t len;

    if (name == NULL)
        return NULL;
    len = strnlen(name, MSVC_DEMANGLE_MAX_INPUT + 1);
    if (len == 0 || len > MSVC_DEMANGLE_MAX_INPUT)
        return NULL;
    memset(&d, 0, sizeof(d));
    d.p = name;
    d.end = name + len;
    sym = msd_parse_symbol(&d);
    if (sym != NULL)
        msd_print(&o, sym, flags);
    msd_free_arena(&d);
    if (sym == NULL || o.overflow || o.len == 0) {
        free(o.buf);
        return NULL;
    }
    return o.buf; /* msd_out keeps it NUL-terminated */
}
