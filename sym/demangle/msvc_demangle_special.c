/* SPDX-License-Identifier: MIT */
/*
 * msvc_demangle_special: the names MSVC gives to compiler-generated
 * entities rather than to declarations: vftables and vbtables, RTTI
 * descriptors, local static guards, vcall thunks, dynamic initializers
 * and atexit destructors, and MD5-hashed names.
 */
#include "symsrvd_config.h"

#include <string.h>

#include "demangle/msvc_demangle.h"
#include "demangle/msvc_demangle_int.h"

/* --- special names: tables, RTTI, guards, thunks, initializers -------- */

/* ??_7 vftable, ??_8 vbtable, ??_S local vftable, ??_R4 complete object
 * locator: <name> {6|7} <quals> {<target class>}* @ */
static struct msd_node *msd_special_table(struct msd *d, const char *what)
{
    struct msd_node *n = msd_new(d, MSD_S_TABLE);
    char c;

    n->name = msd_scope_chain(d, msd_named(d, what));
    c = msd_next(d);
    if (c != '6' && c != '7')
        d->err = true;
    if (!d->err)
        n->quals = msd_quals(d, NULL);
    /* At least one target or '@'; the list may also end with the name,
     * as llvm-undname-14 (which reads one target only) accepts. */
    if (!d->err && !msd_eat(d, "@")) {
        n->list = msd_list_new(d);
        msd_list_push(d, n->list, msd_type_name(d));
        while (!d->err && d->p < d->end && !msd_eat(d, "@"))
            msd_list_push(d, n->list, msd_type_name(d));
    }
    return d->err ? NULL : n;
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
struct msd_node *msd_described_type(struct msd *d, struct msd_node *type,
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
struct msd_node *msd_special_intrinsic(struct msd *d)
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
struct msd_node *msd_md5_name(struct msd *d)
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
