/* SPDX-License-Identifier: MIT */
/*
 * msvc_demangle_print: prints the parse tree of msvc_demangle as C++
 * text, spelled exactly as llvm-undname spells it.  Types are printed in
 * two halves, the part before the declared name and the part after it,
 * because a declarator wraps around the name: "void (__cdecl *f)(int)",
 * "int (*a)[4]".  Printing stops as soon as the output reaches its limit,
 * which also bounds the time spent on names whose back-references expand
 * exponentially.
 */
#include "symsrvd_config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demangle/msvc_demangle.h"
#include "demangle/msvc_demangle_int.h"
#include "xalloc.h"

void msd_out_str(struct msd_out *o, const char *s, size_t len)
{
    if (o->overflow)
        return;
    if (len > MSVC_DEMANGLE_MAX_OUTPUT - o->len) {
        o->overflow = true;
        return;
    }
    if (o->len + len + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 128;

        while (cap < o->len + len + 1)
            cap *= 2;
        o->buf = xreallocarray(o->buf, cap, 1);
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, len);
    o->len += len;
    o->buf[o->len] = '\0';
}

void msd_out_cstr(struct msd_out *o, const char *s)
{
    msd_out_str(o, s, strlen(s));
}

static void msd_out_u64(struct msd_out *o, uint64_t v)
{
    char buf[24];

    (void)snprintf(buf, sizeof(buf), "%" PRIu64, v);
    msd_out_cstr(o, buf);
}

static void msd_out_i64(struct msd_out *o, uint64_t v)
{
    char buf[24];

    (void)snprintf(buf, sizeof(buf), "%" PRId64, (int64_t)v);
    msd_out_cstr(o, buf);
}

/* LLVM keeps some numbers in 32-bit fields; print them truncated alike. */
static void msd_out_u32(struct msd_out *o, uint64_t v)
{
    msd_out_u64(o, (uint32_t)v);
}

static void msd_out_i32(struct msd_out *o, uint64_t v)
{
    msd_out_i64(o, (uint64_t)(int64_t)(int32_t)(uint32_t)v);
}

static char msd_out_last(const struct msd_out *o)
{
    return o->len > 0 ? o->buf[o->len - 1] : '\0';
}

/* A space unless the text so far ends in punctuation. */
static void msd_space_if_needed(struct msd_out *o)
{
    char c = msd_out_last(o);

    if (c != '\0' && (isalnum((unsigned char)c) || c == '>'))
        msd_out_cstr(o, " ");
}

static void msd_quals_out(struct msd_out *o, unsigned q, bool space_before,
                          bool space_after)
{
    static const struct {
        unsigned bit;
        const char *text;
    } names[] = {{MSD_Q_CONST, "const"},
                 {MSD_Q_VOLATILE, "volatile"},
                 {MSD_Q_RESTRICT, "__restrict"}};
    size_t i, start = o->len;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(q & names[i].bit))
            continue;
        if (space_before)
            msd_out_cstr(o, " ");
        msd_out_cstr(o, names[i].text);
        space_before = true;
    }
    if (space_after && o->len > start)
        msd_out_cstr(o, " ");
}

static void msd_cc_out(struct msd_out *o, const char *cc)
{
    msd_space_if_needed(o);
    if (cc != NULL)
        msd_out_cstr(o, cc);
}

static void msd_list_out(struct msd_out *o, const struct msd_node *list,
                         const char *sep, unsigned fl)
{
    size_t i;

    for (i = 0; i < list->count; i++) {
        if (i > 0)
            msd_out_cstr(o, sep);
        msd_print(o, list->items[i], fl);
    }
}

static void msd_tparams_out(struct msd_out *o, const struct msd_node *id,
                            unsigned fl)
{
    if (id->tparams == NULL)
        return;
    msd_out_cstr(o, "<");
    msd_list_out(o, id->tparams, ", ", fl);
    msd_out_cstr(o, ">");
}

static void msd_ident_out(struct msd_out *o, const struct msd_node *n,
                          unsigned fl)
{
    switch (n->kind) {
    case MSD_ID_NAMED:
        msd_out_str(o, n->str, n->len);
        break;
    case MSD_ID_INTRINSIC:
        if (n->str != NULL)
            msd_out_cstr(o, n->str);
        break;
    case MSD_ID_STRUCTOR:
        if (n->flag)
            msd_out_cstr(o, "~");
        if (n->name != NULL)
            msd_print(o, n->name, fl);
        break;
    case MSD_ID_CONVERSION:
        msd_out_cstr(o, "operator");
        msd_tparams_out(o, n, fl);
        msd_out_cstr(o, " ");
        if (n->type != NULL)
            msd_print(o, n->type, fl);
        return;
    case MSD_ID_LITERAL_OP:
        msd_out_cstr(o, "operator \"\"");
        msd_out_str(o, n->str, n->len);
        break;
    default:
        break;
    }
    msd_tparams_out(o, n, fl);
}

/* Identifiers that never carry template arguments. */
static void msd_special_ident_out(struct msd_out *o, const struct msd_node *n,
                                  unsigned fl)
{
    switch (n->kind) {
    case MSD_ID_LOCAL_GUARD:
        msd_out_cstr(o, n->flag ? "`local static thread guard'"
                                : "`local static guard'");
        if ((uint32_t)n->num[0] > 0) {
            msd_out_cstr(o, "{");
            msd_out_u32(o, n->num[0]);
            msd_out_cstr(o, "}");
        }
        break;
    case MSD_ID_DYN_STRUCTOR:
        msd_out_cstr(o, n->flag ? "`dynamic atexit destructor for "
                                : "`dynamic initializer for ");
        msd_out_cstr(o, n->type != NULL ? "`" : "'");
        msd_print(o, n->type != NULL ? n->type : n->name, fl);
        msd_out_cstr(o, "''");
        break;
    case MSD_ID_VCALL:
        msd_out_cstr(o, "`vcall'{");
        msd_out_u64(o, n->num[0]);
        msd_out_cstr(o, ", {flat}}");
        break;
    default: /* MSD_ID_RTTI_BCD */
        msd_out_cstr(o, "`RTTI Base Class Descriptor at (");
        msd_out_u32(o, n->num[0]);
        msd_out_cstr(o, ", ");
        msd_out_i32(o, n->num[1]);
        msd_out_cstr(o, ", ");
        msd_out_u32(o, n->num[2]);
        msd_out_cstr(o, ", ");
        msd_out_u32(o, n->num[3]);
        msd_out_cstr(o, ")'");
        break;
    }
}

/* --- types ------------------------------------------------------------ */

static void msd_type_pre(struct msd_out *o, const struct msd_node *t,
                         unsigned fl);
static void msd_type_post(struct msd_out *o, const struct msd_node *t,
                          unsigned fl);

static void msd_func_pre_signature(struct msd_out *o, const struct msd_node *f,
                                   unsigned fl)
{
    unsigned fc = f->fclass;

    if (!(fl & MSVC_DEMANGLE_NO_ACCESS_SPECIFIER)) {
        if (fc & MSD_FC_PUBLIC)
            msd_out_cstr(o, "public: ");
        if (fc & MSD_FC_PROTECTED)
            msd_out_cstr(o, "protected: ");
        if (fc & MSD_FC_PRIVATE)
            msd_out_cstr(o, "private: ");
    }
    if (!(fl & MSVC_DEMANGLE_NO_MEMBER_TYPE)) {
        if (!(fc & MSD_FC_GLOBAL) && (fc & MSD_FC_STATIC))
            msd_out_cstr(o, "static ");
        if (fc & MSD_FC_VIRTUAL)
            msd_out_cstr(o, "virtual ");
        if (fc & MSD_FC_EXTERN_C)
            msd_out_cstr(o, "extern \"C\" ");
    }
    if (!(fl & MSVC_DEMANGLE_NO_RETURN_TYPE) && f->type != NULL) {
        msd_type_pre(o, f->type, fl);
        msd_out_cstr(o, " ");
    }
}

static void msd_func_pre(struct msd_out *o, const struct msd_node *f,
                         unsigned fl)
{
    if (f->fclass & MSD_FC_THUNK)
        msd_out_cstr(o, "[thunk]: ");
    msd_func_pre_signature(o, f, fl);
    if (!(fl & MSVC_DEMANGLE_NO_CALLING_CONVENTION))
        msd_cc_out(o, f->cc);
}

static void msd_thunk_adjust_out(struct msd_out *o, const struct msd_node *f)
{
    if (f->fclass & MSD_FC_STATIC_ADJ) {
        msd_out_cstr(o, "`adjustor{");
        msd_out_u32(o, f->num[3]);
        msd_out_cstr(o, "}'");
        return;
    }
    if (!(f->fclass & MSD_FC_VIRTUAL_ADJ))
        return;
    if (f->fclass & MSD_FC_VIRTUAL_ADJ_EX) {
        msd_out_cstr(o, "`vtordispex{");
        msd_out_i32(o, f->num[0]);
        msd_out_cstr(o, ", ");
        msd_out_i32(o, f->num[1]);
        msd_out_cstr(o, ", ");
    } else {
        msd_out_cstr(o, "`vtordisp{");
    }
    msd_out_i32(o, f->num[2]);
    msd_out_cstr(o, ", ");
    msd_out_u32(o, f->num[3]);
    msd_out_cstr(o, "}'");
}

static void msd_func_post(struct msd_out *o, const struct msd_node *f,
                          unsigned fl)
{
    msd_thunk_adjust_out(o, f);
    if (!(f->fclass & MSD_FC_NO_PARAMS)) {
        msd_out_cstr(o, "(");
        if (f->list != NULL)
            msd_list_out(o, f->list, ", ", fl);
        else
            msd_out_cstr(o, "void");
        if (f->flag) {
            if (msd_out_last(o) != '(')
                msd_out_cstr(o, ", ");
            msd_out_cstr(o, "...");
        }
        msd_out_cstr(o, ")");
    }
    msd_quals_out(o, f->quals & ~MSD_Q_UNALIGNED, true, false);
    if (f->quals & MSD_Q_UNALIGNED)
        msd_out_cstr(o, " __unaligned");
    if (f->noexcept)
        msd_out_cstr(o, " noexcept");
    if (f->refqual == MSD_REF_LVALUE)
        msd_out_cstr(o, " &");
    else if (f->refqual == MSD_REF_RVALUE)
        msd_out_cstr(o, " &&");
    if (!(fl & MSVC_DEMANGLE_NO_RETURN_TYPE) && f->type != NULL)
        msd_type_post(o, f->type, fl);
}

static void msd_pointer_pre(struct msd_out *o, const struct msd_node *p,
                            unsigned fl)
{
    static const char *const aff[] = {"", "*", "&", "&&"};
    const struct msd_node *pt = p->type;

    /* A function pointer's return type is part of its type. */
    if (pt->kind == MSD_T_FUNC)
        msd_func_pre_signature(o, pt, fl & ~MSVC_DEMANGLE_NO_RETURN_TYPE);
    else
        msd_type_pre(o, pt, fl);
    msd_space_if_needed(o);
    if (p->quals & MSD_Q_UNALIGNED)
        msd_out_cstr(o, "__unaligned ");
    if (pt->kind == MSD_T_ARRAY) {
        msd_out_cstr(o, "(");
    } else if (pt->kind == MSD_T_FUNC) {
        /* llvm-undname-14 keeps the convention of function pointers
         * even with --no-calling-convention. */
        msd_out_cstr(o, "(");
        msd_cc_out(o, pt->cc);
        msd_out_cstr(o, " ");
    }
    if (p->name != NULL) {
        msd_print(o, p->name, fl);
        msd_out_cstr(o, "::");
    }
    msd_out_cstr(o, aff[p->sub]);
    msd_quals_out(o, p->quals, false, false);
}

static void msd_pointer_post(struct msd_out *o, const struct msd_node *p,
                             unsigned fl)
{
    const struct msd_node *pt = p->type;

    if (pt->kind == MSD_T_ARRAY || pt->kind == MSD_T_FUNC)
        msd_out_cstr(o, ")");
    if (pt->kind == MSD_T_FUNC)
        fl &= ~MSVC_DEMANGLE_NO_RETURN_TYPE;
    msd_type_post(o, pt, fl);
}

static void msd_type_pre(struct msd_out *o, const struct msd_node *t,
                         unsigned fl)
{
    static const char *const tags[] = {"class ", "struct ", "union ", "enum "};

    if (o->overflow)
        return;
    switch (t->kind) {
    case MSD_T_PRIMITIVE:
        msd_out_cstr(o, t->str);
        msd_quals_out(o, t->quals, true, false);
        break;
    case MSD_T_TAG:
        msd_out_cstr(o, tags[t->sub]);
        msd_print(o, t->name, fl);
        msd_quals_out(o, t->quals, true, false);
        break;
    case MSD_T_POINTER:
        msd_pointer_pre(o, t, fl);
        break;
    case MSD_T_ARRAY:
        msd_type_pre(o, t->type, fl);
        msd_quals_out(o, t->quals, true, false);
        break;
    case MSD_T_FUNC:
        msd_func_pre(o, t, fl);
        break;
    case MSD_T_CUSTOM:
        msd_print(o, t->name, fl);
        break;
    default:
        break;
    }
}

static void msd_type_post(struct msd_out *o, const struct msd_node *t,
                          unsigned fl)
{
    size_t i;

    if (o->overflow)
        return;
    switch (t->kind) {
    case MSD_T_POINTER:
        msd_pointer_post(o, t, fl);
        break;
    case MSD_T_ARRAY:
        msd_out_cstr(o, "[");
        for (i = 0; i < t->list->count; i++) {
            if (i > 0)
                msd_out_cstr(o, "][");
            if (t->list->items[i]->num[0] != 0)
                msd_out_u64(o, t->list->items[i]->num[0]);
        }
        msd_out_cstr(o, "]");
        msd_type_post(o, t->type, fl);
        break;
    case MSD_T_FUNC:
        msd_func_post(o, t, fl);
        break;
    default:
        break;
    }
}

/* --- symbols ---------------------------------------------------------- */

static void msd_variable_out(struct msd_out *o, const struct msd_node *v,
                             unsigned fl)
{
    static const char *const access[] = {
        [MSD_SC_PRIVATE_STATIC] = "private: ",
        [MSD_SC_PROTECTED_STATIC] = "protected: ",
        [MSD_SC_PUBLIC_STATIC] = "public: ",
    };
    bool is_static =
        v->sub >= MSD_SC_PRIVATE_STATIC && v->sub <= MSD_SC_PUBLIC_STATIC;
    bool typed = v->type != NULL && !(fl & MSVC_DEMANGLE_NO_VARIABLE_TYPE);

    if (is_static && !(fl & MSVC_DEMANGLE_NO_ACCESS_SPECIFIER))
        msd_out_cstr(o, access[v->sub]);
    if (is_static && !(fl & MSVC_DEMANGLE_NO_MEMBER_TYPE))
        msd_out_cstr(o, "static ");
    if (typed)
        msd_type_pre(o, v->type, fl);
    msd_space_if_needed(o);
    msd_print(o, v->name, fl);
    if (typed)
        msd_type_post(o, v->type, fl);
}

static void msd_tparam_ref_out(struct msd_out *o, const struct msd_node *n,
                               unsigned fl)
{
    int i;

    if (n->nnum > 0)
        msd_out_cstr(o, "{");
    else if (n->sub == MSD_AFF_PTR)
        msd_out_cstr(o, "&");
    if (n->sym != NULL) {
        msd_print(o, n->sym, fl);
        if (n->nnum > 0)
            msd_out_cstr(o, ", ");
    }
    for (i = 0; i < n->nnum; i++) {
        if (i > 0)
            msd_out_cstr(o, ", ");
        msd_out_i64(o, n->num[i]);
    }
    if (n->nnum > 0)
        msd_out_cstr(o, "}");
}

static void msd_symbol_out(struct msd_out *o, const struct msd_node *n,
                           unsigned fl)
{
    static const char *const quote[] = {"\"", "L\"", "u\"", "U\""};

    switch (n->kind) {
    case MSD_S_VARIABLE:
        msd_variable_out(o, n, fl);
        break;
    case MSD_S_FUNCTION:
        msd_func_pre(o, n->type, fl);
        msd_space_if_needed(o);
        msd_print(o, n->name, fl);
        msd_func_post(o, n->type, fl);
        break;
    case MSD_S_TABLE:
        msd_quals_out(o, n->quals, false, true);
        msd_print(o, n->name, fl);
        if (n->list != NULL) {
            msd_out_cstr(o, "{for `");
            msd_list_out(o, n->list, "'s `", fl);
            msd_out_cstr(o, "'}");
        }
        break;
    case MSD_S_STRING:
        msd_out_cstr(o, quote[n->sub]);
        msd_out_str(o, n->str, n->len);
        msd_out_cstr(o, n->flag ? "\"..." : "\"");
        break;
    default: /* MSD_S_PLAIN */
        msd_print(o, n->name, fl);
        break;
    }
}

void msd_print(struct msd_out *o, const struct msd_node *n, unsigned fl)
{
    if (o->overflow || n == NULL)
        return;
    switch (n->kind) {
    case MSD_ID_NAMED:
    case MSD_ID_INTRINSIC:
    case MSD_ID_STRUCTOR:
    case MSD_ID_CONVERSION:
    case MSD_ID_LITERAL_OP:
        msd_ident_out(o, n, fl);
        break;
    case MSD_ID_LOCAL_GUARD:
    case MSD_ID_DYN_STRUCTOR:
    case MSD_ID_VCALL:
    case MSD_ID_RTTI_BCD:
        msd_special_ident_out(o, n, fl);
        break;
    case MSD_T_PRIMITIVE:
    case MSD_T_TAG:
    case MSD_T_POINTER:
    case MSD_T_ARRAY:
    case MSD_T_FUNC:
    case MSD_T_CUSTOM:
        msd_type_pre(o, n, fl);
        msd_type_post(o, n, fl);
        break;
    case MSD_N_QNAME:
        msd_list_out(o, n->list, "::", fl);
        break;
    case MSD_N_LIST:
        msd_list_out(o, n, ", ", fl);
        break;
    case MSD_N_TPARAM_REF:
        msd_tparam_ref_out(o, n, fl);
        break;
    case MSD_N_INTEGER:
        if (n->flag)
            msd_out_cstr(o, "-");
        msd_out_u64(o, n->num[0]);
        break;
    default:
        msd_symbol_out(o, n, fl);
        break;
    }
}

const char *msd_render(struct msd *d, const struct msd_node *n,
                       const char *prefix, const char *suffix, size_t *len)
{
    struct msd_out o = {NULL, 0, 0, false};
    char *s = NULL;

    if (prefix != NULL)
        msd_out_cstr(&o, prefix);
    msd_print(&o, n, MSVC_DEMANGLE_DEFAULT);
    if (suffix != NULL)
        msd_out_cstr(&o, suffix);
    if (o.overflow) {
        d->err = true;
    } else {
        s = msd_alloc(d, o.len + 1);
        if (o.len > 0)
            memcpy(s, o.buf, o.len);
        *len = o.len;
    }
    free(o.buf);
    return s;
}
