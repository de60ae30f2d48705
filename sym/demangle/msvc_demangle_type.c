/* SPDX-License-Identifier: MIT */
/*
 * msvc_demangle_type: <type> of the MSVC grammar: primitive types,
 * classes/structs/unions/enums, pointers and references (also to members
 * and to functions), arrays, and their cv-qualifiers.
 */
#include "symsrvd_config.h"

#include <string.h>

#include "demangle/msvc_demangle.h"
#include "demangle/msvc_demangle_int.h"

static struct msd_node *msd_primitive(struct msd *d)
{
    static const char *const basic[26] = {
        ['C' - 'A'] = "signed char",    ['D' - 'A'] = "char",
        ['E' - 'A'] = "unsigned char",  ['F' - 'A'] = "short",
        ['G' - 'A'] = "unsigned short", ['H' - 'A'] = "int",
        ['I' - 'A'] = "unsigned int",   ['J' - 'A'] = "long",
        ['K' - 'A'] = "unsigned long",  ['M' - 'A'] = "float",
        ['N' - 'A'] = "double",         ['O' - 'A'] = "long double",
        ['X' - 'A'] = "void",
    };
    static const char *const under[26] = {
        ['J' - 'A'] = "__int64",        ['K' - 'A'] = "unsigned __int64",
        ['N' - 'A'] = "bool",           ['P' - 'A'] = "auto",
        ['Q' - 'A'] = "char8_t",        ['S' - 'A'] = "char16_t",
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
    bool neg = false;
    uint64_t rank, i;

    d->p++; /* 'Y' */
    rank = msd_number(d, &neg);
    if (neg || rank == 0)
        d->err = true;
    n->list = msd_list_new(d);
    for (i = 0; !d->err && i < rank; i++) {
        struct msd_node *dim = msd_new(d, MSD_N_INTEGER);

        dim->num[0] = msd_number(d, &neg); /* ends at the end of input */
        if (neg)
            d->err = true;
        msd_list_push(d, n->list, dim);
    }
    if (d->err)
        return NULL;
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
