/* SPDX-License-Identifier: MIT */
/*
 * msvc_demangle: entry point, per-call arena, and the parser of symbols,
 * function signatures and types.  Names, templates, numbers and string
 * literals are parsed in msvc_demangle_name.c; printing is in
 * msvc_demangle_print.c.  The grammar and the spelling of the output
 * follow LLVM's MicrosoftDemangle (llvm-undname is our test oracle).
 */
#include "config.h"
#include "msvc_demangle.h"

#include <stdlib.h>
#include <string.h>

#include "msvc_demangle_int.h"
#include "xalloc.h"

/* Deep enough for any real name (templates of templates nest a few dozen
 * levels at most), shallow enough for a small thread stack. */
#define MSD_MAX_DEPTH 160
/* Nodes plus rendered back-reference strings of one call. */
#define MSD_MAX_ARENA (16u * 1024 * 1024)
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

struct msd_node *msd_list(struct msd *d, struct msd_node **items,
                          size_t count)
{
    struct msd_node *n = msd_new(d, MSD_N_LIST);

    n->items = msd_alloc(d, count * sizeof(*n->items));
    if (count > 0)
        memcpy(n->items, items, count * sizeof(*items));
    n->count = count;
    return n;
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
static unsigned msd_quals(struct msd *d, bool *member)
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

static unsigned msd_ptr_ext_quals(struct msd *d)
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

static const char *msd_calling_convention(struct msd *d)
{
    static const char *const cc[26] = {
        ['A' - 'A'] = "__cdecl",      ['B' - 'A'] = "__cdecl",
        ['C' - 'A'] = "__pascal",     ['D' - 'A'] = "__pascal",
        ['E' - 'A'] = "__thiscall",   ['F' - 'A'] = "__thiscall",
        ['G' - 'A'] = "__stdcall",    ['H' - 'A'] = "__stdcall",
        ['I' - 'A'] = "__fastcall",   ['J' - 'A'] = "__fastcall",
        ['M' - 'A'] = "__clrcall",    ['N' - 'A'] = "__clrcall",
        ['O' - 'A'] = "__eabi",       ['P' - 'A'] = "__eabi",
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

/* --- types ------------------------------------------------------------ */

static struct msd_node *msd_function_type(struct msd *d, bool this_quals);

static struct msd_node *msd_primitive(struct msd *d)
{
    static const char *const basic[26] = {
        ['C' - 'A'] = "signed char", ['D' - 'A'] = "char",
        ['E' - 'A'] = "unsigned char", ['F' - 'A'] = "short",
        ['G' - 'A'] = "unsigned short", ['H' - 'A'] = "int",
        ['I' - 'A'] = "unsigned int", ['J' - 'A'] = "long",
        ['K' - 'A'] = "unsigned long", ['M' - 'A'] = "float",
        ['N' - 'A'] = "double", ['O' - 'A'] = "long double",
        ['X' - 'A'] = "void",
    };
    static const char *const under[26] = {
        ['J' - 'A'] = "__int64", ['K' - 'A'] = "unsigned __int64",
        ['N' - 'A'] = "bool", ['P' - 'A'] = "auto",
        ['Q' - 'A'] = "char8_t", ['S' - 'A'] = "char16_t",
        ['T' - 'A'] = "decltype(auto)", ['U' - 'A'] = "char32_t",
        ['W' - 'A'] = "wchar_t",
    };
    const char *s = NULL;
    struct msd_node *n;
    char c;

    if (msd_eat(d, "$$T")) {
        s = "std::nullptr_t";
    } else {
        c = msd_next(d);
        if (c == '_') {
            c = msd_next(d);
            if (c >= 'A' && c <= 'Z')
                s = under[c - 'A'];
        } else if (c >= 'A' && c <= 'Z') {
            s = basic[c - 'A'];
        }
    }
    if (s == NULL) {
        d->err = true;
        return NULL;
    }
    n = msd_new(d, MSD_T_PRIMITIVE);
    n->str = s;
    return n;
}

static struct msd_node *msd_class_type(struct msd *d)
{
    struct msd_node *n = msd_new(d, MSD_T_TAG);

    switch (msd_next(d)) {
    case 'T':
        n->sub = MSD_TAG_UNION;
        break;
    case 'U':
        n->sub = MSD_TAG_STRUCT;
        break;
    case 'V':
        n->sub = MSD_TAG_CLASS;
        break;
    default: /* 'W': enums carry their underlying type, always 4 */
        n->sub = MSD_TAG_ENUM;
        if (!msd_eat(d, "4"))
            d->err = true;
        break;
    }
    if (!d->err)
        n->name = msd_type_name(d);
    return n;
}

/* <pointer-cvr-qualifiers>: the pointer's own qualifiers and kind. */
static void msd_pointer_cv(struct msd *d, struct msd_node *ptr)
{
    static const unsigned q[4] = {0, MSD_Q_CONST, MSD_Q_VOLATILE,
                                  MSD_Q_CONST | MSD_Q_VOLATILE};
    char c;

    if (msd_eat(d, "$$Q")) {
        ptr->sub = MSD_AFF_RVREF;
        return;
    }
    c = msd_next(d);
    ptr->sub = c == 'A' ? MSD_AFF_REF : MSD_AFF_PTR;
    if (c >= 'P' && c <= 'S')
        ptr->quals = q[c - 'P'];
}

static bool msd_is_pointer(const struct msd *d)
{
    return msd_peek(d, "$$Q") || strchr("APQRS", *d->p) != NULL;
}

/* Is the pointer at the cursor a pointer to member?  Decided by looking
 * ahead past the pointer's own qualifiers without consuming them. */
static bool msd_is_member_pointer(struct msd *d)
{
    struct msd la = *d;

    if (*la.p == '$' || *la.p == 'A')
        return false; /* (rvalue) references cannot point to members */
    la.p++;
    if (msd_peek_digit(&la)) {
        if (*la.p != '6' && *la.p != '8')
            d->err = true;
        return *la.p == '8';
    }
    msd_eat(&la, "E");
    msd_eat(&la, "I");
    msd_eat(&la, "F");
    if (la.p >= la.end) {
        d->err = true;
        return false;
    }
    if (*la.p >= 'Q' && *la.p <= 'T')
        return true;
    if (*la.p < 'A' || *la.p > 'D')
        d->err = true;
    return false;
}

static struct msd_node *msd_pointer_type(struct msd *d)
{
    struct msd_node *n = msd_new(d, MSD_T_POINTER);

    msd_pointer_cv(d, n);
    if (msd_eat(d, "6")) {
        n->type = msd_function_type(d, false);
        return n;
    }
    n->quals |= msd_ptr_ext_quals(d);
    n->type = msd_parse_type(d, MSD_QM_MANGLE);
    return n;
}

static struct msd_node *msd_member_pointer_type(struct msd *d)
{
    struct msd_node *n = msd_new(d, MSD_T_POINTER);
    unsigned pointee_quals;

    msd_pointer_cv(d, n);
    n->quals |= msd_ptr_ext_quals(d);
    if (msd_eat(d, "8")) {
        n->name = msd_type_name(d);
        if (!d->err)
            n->type = msd_function_type(d, true);
        return n;
    }
    pointee_quals = msd_quals(d, NULL);
    if (!d->err)
        n->name = msd_type_name(d);
    if (!d->err)
        n->type = msd_parse_type(d, MSD_QM_DROP);
    if (n->type != NULL)
        n->type->quals = pointee_quals;
    return n;
}

static struct msd_node *msd_array_type(struct msd *d)
{
    struct msd_node *n = msd_new(d, MSD_T_ARRAY);
    struct msd_node *dims[64];
    bool neg = false;
    uint64_t rank;
    size_t i;

    d->p++; /* 'Y' */
    rank = msd_number(d, &neg);
    if (neg || rank == 0 || rank > sizeof(dims) / sizeof(dims[0]))
        d->err = true;
    for (i = 0; !d->err && i < rank; i++) {
        dims[i] = msd_new(d, MSD_N_INTEGER);
        dims[i]->num[0] = msd_number(d, &neg);
        if (neg)
            d->err = true;
    }
    if (d->err)
        return NULL;
    n->list = msd_list(d, dims, (size_t)rank);
    if (msd_eat(d, "$$C")) {
        bool member;

        n->quals = msd_quals(d, &member);
        if (member)
            d->err = true;
    }
    if (!d->err)
        n->type = msd_parse_type(d, MSD_QM_DROP);
    return n;
}

static struct msd_node *msd_custom_type(struct msd *d)
{
    struct msd_node *n = msd_new(d, MSD_T_CUSTOM);

    d->p++; /* '?' */
    n->name = msd_unqual_type_name(d);
    if (!msd_eat(d, "@"))
        d->err = true;
    return d->err ? NULL : n;
}

static struct msd_node *msd_type_dispatch(struct msd *d)
{
    char c = *d->p;

    if (c == 'T' || c == 'U' || c == 'V' || c == 'W')
        return msd_class_type(d);
    if (msd_is_pointer(d)) {
        bool member = msd_is_member_pointer(d);

        if (d->err)
            return NULL;
        return member ? msd_member_pointer_type(d) : msd_pointer_type(d);
    }
    if (c == 'Y')
        return msd_array_type(d);
    if (msd_eat(d, "$$A8@@"))
        return msd_function_type(d, true);
    if (msd_eat(d, "$$A6"))
        return msd_function_type(d, false);
    if (c == '?')
        return msd_custom_type(d);
    return msd_primitive(d);
}

/* <type>; MODE says whether cvr-qualifiers precede it: always (MANGLE),
 * only after a '?' (RESULT, return types), or never (DROP). */
struct msd_node *msd_parse_type(struct msd *d, int mode)
{
    unsigned quals = 0;
    struct msd_node *t;

    if (!msd_enter(d))
        return NULL;
    if (mode == MSD_QM_MANGLE || (mode == MSD_QM_RESULT && msd_eat(d, "?")))
        quals = msd_quals(d, NULL);
    if (d->err || d->p >= d->end) {
        d->err = true;
        msd_leave(d);
        return NULL;
    }
    t = msd_type_dispatch(d);
    msd_leave(d);
    if (t == NULL || d->err) {
        d->err = true;
        return NULL;
    }
    t->quals |= quals;
    return t;
}

/* --- functions -------------------------------------------------------- */

/* <parameter-list> ::= X | <type>+ @ | <type>+ Z (variadic).  Types
 * longer than one letter are remembered for the back-references 0-9. */
static struct msd_node *msd_params(struct msd *d, bool *variadic)
{
    struct msd_node *items[256];
    size_t count = 0;

    if (msd_eat(d, "X"))
        return NULL;
    while (!d->err && !msd_peek(d, "@") && !msd_peek(d, "Z")) {
        const char *start = d->p;
        struct msd_node *t;

        if (count == sizeof(items) / sizeof(items[0])) {
            d->err = true;
            break;
        }
        if (msd_peek_digit(d)) {
            size_t i = (size_t)(*d->p++ - '0');

            if (i >= d->br.nparams)
                d->err = true;
            else
                items[count++] = d->br.params[i];
            continue;
        }
        t = msd_parse_type(d, MSD_QM_DROP);
        if (t == NULL)
            break;
        items[count++] = t;
        if (d->br.nparams < MSD_MAX_BACKREFS && d->p - start > 1)
            d->br.params[d->br.nparams++] = t;
    }
    if (d->err)
        return NULL;
    if (msd_eat(d, "Z"))
        *variadic = true;
    else
        d->p++; /* '@' */
    return msd_list(d, items, count);
}

static struct msd_node *msd_function_type(struct msd *d, bool this_quals)
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

static struct msd_node *msd_function_encoding(struct msd *d)
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

static struct msd_node *msd_declarator(struct msd *d)
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

/* --- special names: tables, RTTI, guards, thunks, initializers -------- */

/* ??_7 vftable, ??_8 vbtable, ??_S local vftable, ??_R4 complete object
 * locator: <name> {6|7} <quals> {<target class>}* @ */
static struct msd_node *msd_special_table(struct msd *d, const char *what)
{
    struct msd_node *n = msd_new(d, MSD_S_TABLE);
    struct msd_node *targets[64];
    size_t count = 0;
    char c;

    n->name = msd_scope_chain(d, msd_named(d, what));
    c = msd_next(d);
    if (c != '6' && c != '7')
        d->err = true;
    if (!d->err)
        n->quals = msd_quals(d, NULL);
    /* At least one target or '@'; the list may also end with the name,
     * as llvm-undname-14 (which reads one target only) accepts. */
    if (!d->err && !msd_eat(d, "@"))
        targets[count++] = msd_type_name(d);
    while (count > 0 && !d->err && d->p < d->end && !msd_eat(d, "@")) {
        if (count == sizeof(targets) / sizeof(targets[0]))
            d->err = true;
        else
            targets[count++] = msd_type_name(d);
    }
    if (d->err)
        return NULL;
    if (count > 0)
        n->list = msd_list(d, targets, count);
    return n;
}

static struct msd_node *msd_local_static_guard(struct msd *d, bool thread)
{
    struct msd_node *id = msd_new(d, MSD_ID_LOCAL_GUARD);
    struct msd_node *n = msd_new(d, MSD_S_PLAIN);

    id->flag = thread;
    n->name = msd_scope_chain(d, id);
    if (!msd_eat(d, "4IA") && !msd_eat(d, "5"))
        d->err = true;
    if (!d->err && d->p < d->end)
        id->num[0] = msd_unsigned(d);
    return d->err ? NULL : n;
}

static struct msd_node *msd_untyped_variable(struct msd *d, const char *what)
{
    struct msd_node *n = msd_new(d, MSD_S_VARIABLE);

    n->name = msd_scope_chain(d, msd_named(d, what));
    if (!msd_eat(d, "8"))
        d->err = true;
    return d->err ? NULL : n;
}

static struct msd_node *msd_rtti_base_class(struct msd *d)
{
    struct msd_node *id = msd_new(d, MSD_ID_RTTI_BCD);
    struct msd_node *n = msd_new(d, MSD_S_VARIABLE);

    id->num[0] = msd_unsigned(d);
    id->num[1] = (uint64_t)msd_signed(d);
    id->num[2] = msd_unsigned(d);
    id->num[3] = msd_unsigned(d);
    if (d->err)
        return NULL;
    n->name = msd_scope_chain(d, id);
    msd_eat(d, "8");
    return d->err ? NULL : n;
}

/* A typed symbol named by a description, e.g. "`RTTI Type Descriptor'". */
static struct msd_node *msd_described_type(struct msd *d,
                                           struct msd_node *type,
                                           const char *what)
{
    struct msd_node *n = msd_new(d, MSD_S_VARIABLE);

    n->type = type;
    n->name = msd_qname1(d, msd_named(d, what));
    return n;
}

/* ??__E / ??__F: `dynamic initializer for 'x'' and its atexit twin. */
static struct msd_node *msd_init_fini_stub(struct msd *d, bool dtor)
{
    struct msd_node *id = msd_new(d, MSD_ID_DYN_STRUCTOR);
    bool static_member = msd_eat(d, "?");
    struct msd_node *sym, *f;

    id->flag = dtor;
    sym = msd_declarator(d);
    if (sym == NULL)
        return NULL;
    if (sym->kind != MSD_S_VARIABLE) {
        if (static_member) {
            d->err = true; /* a static data member that is a function */
            return NULL;
        }
        id->name = sym->name;
        sym->name = msd_qname1(d, id);
        return sym;
    }
    id->type = sym;
    /* Older clang wrote one '@' here where MSVC writes two. */
    if (!msd_eat(d, "@") || (static_member && !msd_eat(d, "@"))) {
        d->err = true;
        return NULL;
    }
    f = msd_function_encoding(d);
    if (f != NULL)
        f->name = msd_qname1(d, id);
    return f;
}

static struct msd_node *msd_vcall_thunk(struct msd *d)
{
    struct msd_node *id = msd_new(d, MSD_ID_VCALL);
    struct msd_node *f = msd_new(d, MSD_T_FUNC);
    struct msd_node *sym = msd_new(d, MSD_S_FUNCTION);

    f->fclass = MSD_FC_NO_PARAMS | MSD_FC_THUNK;
    sym->type = f;
    sym->name = msd_scope_chain(d, id);
    if (!d->err && !msd_eat(d, "$B"))
        d->err = true;
    if (!d->err)
        id->num[0] = msd_unsigned(d);
    if (!d->err && !msd_eat(d, "A"))
        d->err = true;
    if (!d->err)
        f->cc = msd_calling_convention(d);
    return d->err ? NULL : sym;
}

static struct msd_node *msd_rtti_type_descriptor(struct msd *d)
{
    struct msd_node *t = msd_parse_type(d, MSD_QM_RESULT);

    if (d->err || !msd_eat(d, "@8") || d->p != d->end) {
        d->err = true;
        return NULL;
    }
    return msd_described_type(d, t, "`RTTI Type Descriptor'");
}

/* Special names after the leading '?'.  Returns NULL with d->err clear
 * when the name is not one of them. */
static struct msd_node *msd_special_intrinsic(struct msd *d)
{
    if (msd_eat(d, "?_7"))
        return msd_special_table(d, "`vftable'");
    if (msd_eat(d, "?_8"))
        return msd_special_table(d, "`vbtable'");
    if (msd_eat(d, "?_9"))
        return msd_vcall_thunk(d);
    if (msd_eat(d, "?_B"))
        return msd_local_static_guard(d, false);
    if (msd_eat(d, "?_C"))
        return msd_string_literal(d);
    if (msd_eat(d, "?_R0"))
        return msd_rtti_type_descriptor(d);
    if (msd_eat(d, "?_R1"))
        return msd_rtti_base_class(d);
    if (msd_eat(d, "?_R2"))
        return msd_untyped_variable(d, "`RTTI Base Class Array'");
    if (msd_eat(d, "?_R3"))
        return msd_untyped_variable(d, "`RTTI Class Hierarchy Descriptor'");
    if (msd_eat(d, "?_R4"))
        return msd_special_table(d, "`RTTI Complete Object Locator'");
    if (msd_eat(d, "?_S"))
        return msd_special_table(d, "`local vftable'");
    if (msd_eat(d, "?__E"))
        return msd_init_fini_stub(d, false);
    if (msd_eat(d, "?__F"))
        return msd_init_fini_stub(d, true);
    if (msd_eat(d, "?__J"))
        return msd_local_static_guard(d, true);
    if (msd_peek(d, "?_A") || msd_peek(d, "?_P"))
        d->err = true; /* typeof / udt returning: no known producer */
    return NULL;
}

/* ??@<md5>@: names too long for the linker, hashed.  Shown as is. */
static struct msd_node *msd_md5_name(struct msd *d)
{
    const char *start = d->p;
    const char *at = memchr(d->p + 3, '@', (size_t)(d->end - d->p - 3));
    struct msd_node *n, *id;

    if (at == NULL) {
        d->err = true;
        return NULL;
    }
    d->p = at + 1;
    msd_eat(d, "??_R4@");
    id = msd_new(d, MSD_ID_NAMED);
    id->str = start;
    id->len = (size_t)(d->p - start);
    n = msd_new(d, MSD_S_PLAIN);
    n->name = msd_qname1(d, id);
    return n;
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
