/* SPDX-License-Identifier: MIT */
/*
 * msvc_demangle_name: the parts of the MSVC grammar below the type level:
 * encoded numbers, names and their scope chains, the name back-references
 * 0-9, template instantiations and their arguments, and operator codes.
 */
#include "symsrvd_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demangle/msvc_demangle.h"
#include "demangle/msvc_demangle_int.h"

/* How a name's pieces take part in back-references. */
enum msd_nbb {
    MSD_NBB_NONE = 0,
    MSD_NBB_TEMPLATE = 1, /* remember template instantiations */
    MSD_NBB_SIMPLE = 2,   /* remember simple names */
};

static struct msd_node *msd_unqual_symbol_name(struct msd *d, int nbb);

/* <number> ::= [?] <decimal digit>        # 1..10
 *          ::= [?] <hex digit A-P>* @     # A = 0, B = 1, ... */
uint64_t msd_number(struct msd *d, bool *negative)
{
    uint64_t v = 0;

    *negative = msd_eat(d, "?");
    if (msd_peek_digit(d))
        return (uint64_t)(*d->p++ - '0') + 1;
    while (d->p < d->end && *d->p >= 'A' && *d->p <= 'P')
        v = (v << 4) + (uint64_t)(*d->p++ - 'A');
    if (!msd_eat(d, "@")) {
        d->err = true;
        *negative = false;
        return 0;
    }
    return v;
}

uint64_t msd_unsigned(struct msd *d)
{
    bool neg;
    uint64_t v = msd_number(d, &neg);

    if (neg)
        d->err = true;
    return v;
}

int64_t msd_signed(struct msd *d)
{
    bool neg;
    uint64_t v = msd_number(d, &neg);

    if (v > INT64_MAX)
        d->err = true;
    return neg ? -(int64_t)(v & INT64_MAX) : (int64_t)(v & INT64_MAX);
}

struct msd_node *msd_named(struct msd *d, const char *str)
{
    struct msd_node *n = msd_new(d, MSD_ID_NAMED);

    n->str = str;
    n->len = strlen(str);
    return n;
}

struct msd_node *msd_qname1(struct msd *d, struct msd_node *ident)
{
    struct msd_node *q = msd_new(d, MSD_N_QNAME);

    q->list = msd_list_new(d);
    msd_list_push(d, q->list, ident);
    return q;
}

struct msd_node *msd_unqualified(const struct msd_node *qname)
{
    return qname->list->items[qname->list->count - 1];
}

/* The first ten distinct names become back-references 0-9. */
static void msd_memorize(struct msd *d, const char *s, size_t len)
{
    struct msd_node *n;
    size_t i;

    if (d->br.nnames >= MSD_MAX_BACKREFS)
        return;
    for (i = 0; i < d->br.nnames; i++) {
        n = d->br.names[i];
        if (n->len == len && memcmp(n->str, s, len) == 0)
            return;
    }
    n = msd_new(d, MSD_ID_NAMED);
    n->str = s;
    n->len = len;
    d->br.names[d->br.nnames++] = n;
}

static void msd_memorize_ident(struct msd *d, const struct msd_node *id)
{
    size_t len;
    const char *s = msd_render(d, id, NULL, NULL, &len);

    if (s != NULL)
        msd_memorize(d, s, len);
}

/* <simple-name> ::= <chars> @  (at least one char) */
static const char *msd_simple_string(struct msd *d, bool memorize, size_t *len)
{
    const char *s = d->p;
    const char *at = memchr(s, '@', (size_t)(d->end - s));

    if (at == NULL || at == s) {
        d->err = true;
        return NULL;
    }
    *len = (size_t)(at - s);
    d->p = at + 1;
    if (memorize)
        msd_memorize(d, s, *len);
    return s;
}

struct msd_node *msd_simple_name(struct msd *d, bool memorize)
{
    size_t len;
    const char *s = msd_simple_string(d, memorize, &len);
    struct msd_node *n;

    if (s == NULL)
        return NULL;
    n = msd_new(d, MSD_ID_NAMED);
    n->str = s;
    n->len = len;
    return n;
}

static struct msd_node *msd_backref_name(struct msd *d)
{
    size_t i = (size_t)(*d->p - '0');

    if (i >= d->br.nnames) {
        d->err = true;
        return NULL;
    }
    d->p++;
    return d->br.names[i];
}

/* ?$<name><template-args>@ : parsed with back-references of its own. */
static struct msd_node *msd_template_name(struct msd *d, int nbb)
{
    struct msd_backrefs outer = d->br;
    struct msd_node *id;

    if (!msd_enter(d))
        return NULL;
    d->p += 2; /* "?$" */
    memset(&d->br, 0, sizeof(d->br));
    id = msd_unqual_symbol_name(d, MSD_NBB_SIMPLE);
    if (!d->err)
        id->tparams = msd_template_args(d);
    d->br = outer;
    msd_leave(d);
    if (d->err)
        return NULL;
    if (nbb & MSD_NBB_TEMPLATE) {
        /* Only a leaf name can be a structor or conversion operator. */
        if (id->kind == MSD_ID_CONVERSION || id->kind == MSD_ID_STRUCTOR) {
            d->err = true;
            return NULL;
        }
        msd_memorize_ident(d, id);
    }
    return id;
}

struct msd_node *msd_unqual_type_name(struct msd *d)
{
    if (msd_peek_digit(d))
        return msd_backref_name(d);
    if (msd_peek(d, "?$"))
        return msd_template_name(d, MSD_NBB_TEMPLATE);
    return msd_simple_name(d, true);
}

/* --- operators and other '?' names ------------------------------------ */

/* Spellings of ?X, ?_X and ?__X; NULL where the code is a structor,
 * conversion or special name handled elsewhere, or unused. */
static const char *const msd_op_basic[36] = {
    NULL,         NULL,         "operator new", "operator delete",
    "operator=",  "operator>>", "operator<<",   "operator!",
    "operator==", "operator!=", "operator[]",   NULL,
    "operator->", "operator*",  "operator++",   "operator--",
    "operator-",  "operator+",  "operator&",    "operator->*",
    "operator/",  "operator%",  "operator<",    "operator<=",
    "operator>",  "operator>=", "operator,",    "operator()",
    "operator~",  "operator^",  "operator|",    "operator&&",
    "operator||", "operator*=", "operator+=",   "operator-=",
};

static const char *const msd_op_under[36] = {
    "operator/=",
    "operator%=",
    "operator>>=",
    "operator<<=",
    "operator&=",
    "operator|=",
    "operator^=",
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    "`vbase dtor'",
    "`vector deleting dtor'",
    "`default ctor closure'",
    "`scalar deleting dtor'",
    "`vector ctor iterator'",
    "`vector dtor iterator'",
    "`vector vbase ctor iterator'",
    "`virtual displacement map'",
    "`eh vector ctor iterator'",
    "`eh vector dtor iterator'",
    "`eh vector vbase ctor iterator'",
    "`copy ctor closure'",
    NULL,
    NULL,
    NULL,
    NULL,
    "`local vftable ctor closure'",
    "operator new[]",
    "operator delete[]",
    NULL,
    NULL,
    NULL,
    NULL,
};

static const char *const msd_op_dunder[36] = {
    [10] = "`managed vector ctor iterator'",
    [11] = "`managed vector dtor iterator'",
    [12] = "`EH vector copy ctor iterator'",
    [13] = "`EH vector vbase copy ctor iterator'",
    [16] = "`vector copy ctor iterator'",
    [17] = "`vector vbase copy constructor iterator'",
    [18] = "`managed vector vbase copy constructor iterator'",
    [21] = "operator co_await",
    [22] = "operator<=>",
};

static struct msd_node *msd_operator(struct msd *d, const char *const table[36],
                                     char c)
{
    struct msd_node *n = msd_new(d, MSD_ID_INTRINSIC);

    if (c >= '0' && c <= '9')
        n->str = table[c - '0'];
    else if (c >= 'A' && c <= 'Z')
        n->str = table[c - 'A' + 10];
    else
        d->err = true;
    return n;
}

static struct msd_node *msd_function_identifier(struct msd *d)
{
    struct msd_node *n;
    char c;

    d->p++; /* '?' */
    if (msd_eat(d, "__")) {
        c = d->p < d->end ? *d->p++ : '\0';
        if (c != 'K')
            return msd_operator(d, msd_op_dunder, c);
        n = msd_new(d, MSD_ID_LITERAL_OP); /* operator ""_name */
        n->str = msd_simple_string(d, false, &n->len);
        return n;
    }
    if (msd_eat(d, "_"))
        return msd_operator(d, msd_op_under, d->p < d->end ? *d->p++ : 0);
    c = d->p < d->end ? *d->p++ : '\0';
    if (c == '0' || c == '1') {
        n = msd_new(d, MSD_ID_STRUCTOR);
        n->flag = c == '1';
        return n;
    }
    if (c == 'B')
        return msd_new(d, MSD_ID_CONVERSION);
    return msd_operator(d, msd_op_basic, c);
}

static struct msd_node *msd_unqual_symbol_name(struct msd *d, int nbb)
{
    if (msd_peek_digit(d))
        return msd_backref_name(d);
    if (msd_peek(d, "?$"))
        return msd_template_name(d, nbb);
    if (msd_peek(d, "?"))
        return msd_function_identifier(d);
    return msd_simple_name(d, (nbb & MSD_NBB_SIMPLE) != 0);
}

/* --- scopes ----------------------------------------------------------- */

static struct msd_node *msd_anonymous_namespace(struct msd *d)
{
    const char *at;

    d->p += 2; /* "?A" */
    at = memchr(d->p, '@', (size_t)(d->end - d->p));
    if (at == NULL) {
        d->err = true;
        return NULL;
    }
    msd_memorize(d, d->p, (size_t)(at - d->p));
    d->p = at + 1;
    return msd_named(d, "`anonymous namespace'");
}

/* ?<number>? at the cursor: a scope inside a function body. */
static bool msd_is_local_scope(const struct msd *d)
{
    const char *s = d->p + 1;
    const char *q;

    if (!msd_peek(d, "?"))
        return false;
    q = memchr(s, '?', (size_t)(d->end - s));
    if (q == NULL || q == s)
        return false;
    if (q - s == 1)
        return *s == '@' || (*s >= '0' && *s <= '9');
    if (q[-1] != '@' || *s < 'B' || *s > 'P')
        return false;
    for (s++; s < q - 1; s++)
        if (*s < 'A' || *s > 'P')
            return false;
    return true;
}

static struct msd_node *msd_local_scope(struct msd *d)
{
    struct msd_node *scope, *n;
    char suffix[32];
    uint64_t num;
    bool neg;

    d->p++; /* '?' */
    num = msd_number(d, &neg);
    msd_eat(d, "?");
    scope = msd_parse_symbol(d);
    if (scope == NULL)
        return NULL;
    (void)snprintf(suffix, sizeof(suffix), "'::`%llu'",
                   (unsigned long long)num);
    n = msd_new(d, MSD_ID_NAMED);
    n->str = msd_render(d, scope, "`", suffix, &n->len);
    return d->err ? NULL : n;
}

static struct msd_node *msd_scope_piece(struct msd *d)
{
    if (msd_peek_digit(d))
        return msd_backref_name(d);
    if (msd_peek(d, "?$"))
        return msd_template_name(d, MSD_NBB_TEMPLATE);
    if (msd_peek(d, "?A"))
        return msd_anonymous_namespace(d);
    if (msd_is_local_scope(d))
        return msd_local_scope(d);
    return msd_simple_name(d, true);
}

/* <scope>* @ after the innermost name UNQUAL; returns the qualified name
 * with its components outermost first. */
struct msd_node *msd_scope_chain(struct msd *d, struct msd_node *unqual)
{
    struct msd_node *list = msd_list_new(d);
    struct msd_node *q;
    size_t i, n;

    msd_list_push(d, list, unqual);
    while (!d->err && !msd_eat(d, "@")) {
        if (d->p >= d->end) {
            d->err = true;
            break;
        }
        msd_list_push(d, list, msd_scope_piece(d));
    }
    if (d->err)
        return NULL;
    for (i = 0, n = list->count; i < n / 2; i++) {
        struct msd_node *t = list->items[i];

        list->items[i] = list->items[n - 1 - i];
        list->items[n - 1 - i] = t;
    }
    q = msd_new(d, MSD_N_QNAME);
    q->list = list;
    return q;
}

struct msd_node *msd_type_name(struct msd *d)
{
    struct msd_node *id = msd_unqual_type_name(d);

    return d->err ? NULL : msd_scope_chain(d, id);
}

struct msd_node *msd_symbol_name(struct msd *d)
{
    struct msd_node *id = msd_unqual_symbol_name(d, MSD_NBB_SIMPLE);
    struct msd_node *q;

    if (d->err)
        return NULL;
    q = msd_scope_chain(d, id);
    if (q == NULL)
        return NULL;
    if (id->kind == MSD_ID_STRUCTOR) {
        if (q->list->count < 2) {
            d->err = true;
            return NULL;
        }
        id->name = q->list->items[q->list->count - 2];
    }
    return q;
}

/* --- template arguments ----------------------------------------------- */

/* $1/$H/$I/$J <symbol> <offsets>: pointer to member function or data
 * with 0-3 inheritance adjustments. */
static struct msd_node *msd_tparam_member_fn(struct msd *d)
{
    struct msd_node *n = msd_new(d, MSD_N_TPARAM_REF);
    char kind = *d->p++;
    int offsets = kind == '1' ? 0 : kind - 'H' + 1;

    n->sub = MSD_AFF_PTR;
    if (msd_peek(d, "?")) {
        n->sym = msd_parse_symbol(d);
        if (n->sym == NULL || n->sym->name == NULL) {
            d->err = true;
            return NULL;
        }
        msd_memorize_ident(d, msd_unqualified(n->sym->name));
    }
    while (!d->err && n->nnum < offsets)
        n->num[n->nnum++] = (uint64_t)msd_signed(d);
    return n;
}

/* $F/$G <offsets>: pointer to data member, 2 or 3 numbers. */
static struct msd_node *msd_tparam_member_data(struct msd *d)
{
    struct msd_node *n = msd_new(d, MSD_N_TPARAM_REF);
    int offsets = *d->p++ == 'G' ? 3 : 2;

    while (!d->err && n->nnum < offsets)
        n->num[n->nnum++] = (uint64_t)msd_signed(d);
    return n;
}

static struct msd_node *msd_template_arg(struct msd *d)
{
    struct msd_node *n;

    if (msd_eat(d, "$$Y"))
        return msd_type_name(d); /* alias template */
    if (msd_eat(d, "$$B"))
        return msd_parse_type(d, MSD_QM_DROP); /* array */
    if (msd_eat(d, "$$C"))
        return msd_parse_type(d, MSD_QM_MANGLE); /* qualified type */
    if (msd_peek(d, "$1") || msd_peek(d, "$H") || msd_peek(d, "$I") ||
        msd_peek(d, "$J")) {
        d->p++;
        return msd_tparam_member_fn(d);
    }
    if (msd_peek(d, "$E?")) { /* reference to a symbol */
        d->p += 2;
        n = msd_new(d, MSD_N_TPARAM_REF);
        n->sub = MSD_AFF_REF;
        n->sym = msd_parse_symbol(d);
        return n;
    }
    if (msd_peek(d, "$F") || msd_peek(d, "$G")) {
        d->p++;
        return msd_tparam_member_data(d);
    }
    if (msd_eat(d, "$0")) { /* integer */
        n = msd_new(d, MSD_N_INTEGER);
        n->num[0] = msd_number(d, &n->flag);
        return n;
    }
    return msd_parse_type(d, MSD_QM_DROP);
}

/* <template-args> ::= <arg>* @   (pack separators print nothing) */
struct msd_node *msd_template_args(struct msd *d)
{
    struct msd_node *list = msd_list_new(d);

    while (!d->err && !msd_eat(d, "@")) {
        if (msd_eat(d, "$S") || msd_eat(d, "$$V") || msd_eat(d, "$$$V") ||
            msd_eat(d, "$$Z"))
            continue;
        if (d->p >= d->end) {
            d->err = true;
            break;
        }
        msd_list_push(d, list, msd_template_arg(d));
    }
    return d->err ? NULL : list;
}
