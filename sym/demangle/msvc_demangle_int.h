/* SPDX-License-Identifier: MIT */
/*
 * msvc_demangle_int: the parse tree and parser state shared by the files
 * of the MSVC demangler: msvc_demangle.c (entry point, arena, symbols
 * and functions), msvc_demangle_type.c (types), msvc_demangle_name.c (numbers,
 * names, scopes, templates), msvc_demangle_special.c (vftables, RTTI, guards,
 * thunks), msvc_demangle_literal.c (string literals) and msvc_demangle_print.c
 * (printer).  Not a public API.
 *
 * One node struct serves every kind; the table below says which fields
 * each kind uses.  Nodes live in the arena of one demangle call and may
 * be shared (back-references), so the tree is a DAG and is never freed
 * node by node.
 *
 *   kind              fields
 *   ID_NAMED          str/len, tparams
 *   ID_INTRINSIC      str (NULL for codes without a spelling), tparams
 *   ID_STRUCTOR       flag (destructor), name (class identifier), tparams
 *   ID_CONVERSION     type (target, set once the signature is known),
 *                     tparams
 *   ID_LITERAL_OP     str/len, tparams
 *   ID_LOCAL_GUARD    flag (thread guard), num[0] (scope index)
 *   ID_DYN_STRUCTOR   flag (destructor), type (variable symbol) or name
 *   ID_VCALL          num[0] (offset in the vftable)
 *   ID_RTTI_BCD       num[0..3], num[1] signed
 *   T_PRIMITIVE       str (spelling), quals
 *   T_TAG             sub (enum msd_tag), name (qualified), quals
 *   T_POINTER         sub (enum msd_affinity), type (pointee), name
 *                     (class of a member pointer or NULL), quals
 *   T_ARRAY           list (dimensions, N_INTEGER), type (element), quals
 *   T_FUNC            fclass, cc, type (return or NULL), list (params or
 *                     NULL), flag (variadic), noexcept, refqual, quals,
 *                     num[0..3] (this-adjustment of thunks)
 *   T_CUSTOM          name (identifier)
 *   N_QNAME           list (components, outermost first)
 *   N_LIST            items/count, len (capacity)
 *   N_TPARAM_REF      sub (affinity), sym (symbol or NULL), num/nnum
 *   N_INTEGER         num[0], flag (negative)
 *   S_VARIABLE        sub (enum msd_storage), type (or NULL), name
 *   S_FUNCTION        type (T_FUNC), name
 *   S_TABLE           name, quals, list (target names or NULL)
 *   S_STRING          sub (enum msd_char), str/len (escaped), flag
 *                     (truncated)
 *   S_PLAIN           name (MD5 names, local static guards)
 */
#ifndef SYMSRVD_MSVC_DEMANGLE_INT_H
#define SYMSRVD_MSVC_DEMANGLE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum msd_kind {
    MSD_ID_NAMED,
    MSD_ID_INTRINSIC,
    MSD_ID_STRUCTOR,
    MSD_ID_CONVERSION,
    MSD_ID_LITERAL_OP,
    MSD_ID_LOCAL_GUARD,
    MSD_ID_DYN_STRUCTOR,
    MSD_ID_VCALL,
    MSD_ID_RTTI_BCD,
    MSD_T_PRIMITIVE,
    MSD_T_TAG,
    MSD_T_POINTER,
    MSD_T_ARRAY,
    MSD_T_FUNC,
    MSD_T_CUSTOM,
    MSD_N_QNAME,
    MSD_N_LIST,
    MSD_N_TPARAM_REF,
    MSD_N_INTEGER,
    MSD_S_VARIABLE,
    MSD_S_FUNCTION,
    MSD_S_TABLE,
    MSD_S_STRING,
    MSD_S_PLAIN,
};

enum msd_quals {
    MSD_Q_CONST = 1u << 0,
    MSD_Q_VOLATILE = 1u << 1,
    MSD_Q_RESTRICT = 1u << 2,
    MSD_Q_UNALIGNED = 1u << 3,
    MSD_Q_PTR64 = 1u << 4,
};

enum msd_tag { MSD_TAG_CLASS, MSD_TAG_STRUCT, MSD_TAG_UNION, MSD_TAG_ENUM };
enum msd_affinity { MSD_AFF_NONE, MSD_AFF_PTR, MSD_AFF_REF, MSD_AFF_RVREF };
enum msd_refqual { MSD_REF_NONE, MSD_REF_LVALUE, MSD_REF_RVALUE };
enum msd_char { MSD_CHAR, MSD_CHAR_WIDE, MSD_CHAR16, MSD_CHAR32 };

enum msd_storage {
    MSD_SC_NONE,
    MSD_SC_PRIVATE_STATIC,
    MSD_SC_PROTECTED_STATIC,
    MSD_SC_PUBLIC_STATIC,
    MSD_SC_GLOBAL,
    MSD_SC_LOCAL_STATIC,
};

/* Function classes: access, storage and this-adjustment of a function. */
enum msd_fclass {
    MSD_FC_PUBLIC = 1u << 0,
    MSD_FC_PROTECTED = 1u << 1,
    MSD_FC_PRIVATE = 1u << 2,
    MSD_FC_GLOBAL = 1u << 3,
    MSD_FC_STATIC = 1u << 4,
    MSD_FC_VIRTUAL = 1u << 5,
    MSD_FC_FAR = 1u << 6,
    MSD_FC_EXTERN_C = 1u << 7,
    MSD_FC_NO_PARAMS = 1u << 8,
    MSD_FC_VIRTUAL_ADJ = 1u << 9,
    MSD_FC_STATIC_ADJ = 1u << 10,
    MSD_FC_VIRTUAL_ADJ_EX = 1u << 11,
    MSD_FC_THUNK = 1u << 12, /* print "[thunk]: " */
};

struct msd_node {
    enum msd_kind kind;
    unsigned quals;
    int sub;
    bool flag;
    const char *str;
    size_t len;
    struct msd_node *name;
    struct msd_node *type;
    struct msd_node *list;
    struct msd_node *tparams;
    struct msd_node *sym;
    struct msd_node **items;
    size_t count;
    uint64_t num[4];
    int nnum;
    unsigned fclass;
    const char *cc;
    bool noexcept;
    enum msd_refqual refqual;
};

#define MSD_MAX_BACKREFS 10

struct msd_backrefs {
    struct msd_node *names[MSD_MAX_BACKREFS];
    size_t nnames;
    struct msd_node *params[MSD_MAX_BACKREFS];
    size_t nparams;
};

struct msd_chunk;

/* The state of one demangle call. */
struct msd {
    const char *p;   /* next input byte */
    const char *end; /* end of input */
    bool err;        /* sticky: once set, parsers return at once */
    int depth;       /* current recursion depth */
    size_t arena_used;
    struct msd_chunk *chunks;
    struct msd_backrefs br;
};

/* Growable output text; sets 'overflow' instead of growing past
 * MSVC_DEMANGLE_MAX_OUTPUT. */
struct msd_out {
    char *buf;
    size_t len;
    size_t cap;
    bool overflow;
};

/* Print flags (enum msvc_demangle_flags) plus internal ones. */
#define MSD_OF_NO_RETURN_TYPE_BIT (1u << 2)

/* Where cvr-qualifiers stand before a type (see msd_parse_type). */
enum msd_qual_mode { MSD_QM_DROP, MSD_QM_MANGLE, MSD_QM_RESULT };

/* arena and input helpers (msvc_demangle.c) */
void *msd_alloc(struct msd *d, size_t size);
struct msd_node *msd_new(struct msd *d, enum msd_kind kind);
bool msd_eat(struct msd *d, const char *prefix);
bool msd_peek(const struct msd *d, const char *prefix);
bool msd_peek_digit(const struct msd *d);
/* The next input byte, consumed; '\0' and err set at the end. */
char msd_next(struct msd *d);
bool msd_enter(struct msd *d);
void msd_leave(struct msd *d);
struct msd_node *msd_list_new(struct msd *d);
void msd_list_push(struct msd *d, struct msd_node *list, struct msd_node *item);
struct msd_node *msd_parse_symbol(struct msd *d);
unsigned msd_quals(struct msd *d, bool *member);
unsigned msd_ptr_ext_quals(struct msd *d);
struct msd_node *msd_function_type(struct msd *d, bool this_quals);
const char *msd_calling_convention(struct msd *d);
struct msd_node *msd_function_encoding(struct msd *d);
struct msd_node *msd_declarator(struct msd *d);

/* types (msvc_demangle_type.c) */
struct msd_node *msd_parse_type(struct msd *d, int mode);

/* special names (msvc_demangle_special.c) */
/* After the leading '?': NULL with d->err clear if not a special name. */
struct msd_node *msd_special_intrinsic(struct msd *d);
struct msd_node *msd_md5_name(struct msd *d);
/* A symbol of type TYPE named by a description, e.g. "`RTTI Type
 * Descriptor'". */
struct msd_node *msd_described_type(struct msd *d, struct msd_node *type,
                                    const char *what);

/* names, numbers and literals (msvc_demangle_name.c) */
uint64_t msd_number(struct msd *d, bool *negative);
uint64_t msd_unsigned(struct msd *d);
int64_t msd_signed(struct msd *d);
struct msd_node *msd_simple_name(struct msd *d, bool memorize);
struct msd_node *msd_scope_chain(struct msd *d, struct msd_node *unqual);
struct msd_node *msd_unqual_type_name(struct msd *d);
struct msd_node *msd_type_name(struct msd *d);
struct msd_node *msd_symbol_name(struct msd *d);
struct msd_node *msd_qname1(struct msd *d, struct msd_node *ident);
struct msd_node *msd_named(struct msd *d, const char *str);
struct msd_node *msd_unqualified(const struct msd_node *qname);
struct msd_node *msd_template_args(struct msd *d);

/* string literals (msvc_demangle_literal.c) */
struct msd_node *msd_string_literal(struct msd *d);

/* printer (msvc_demangle_print.c) */
void msd_print(struct msd_out *o, const struct msd_node *n, unsigned flags);
void msd_out_str(struct msd_out *o, const char *s, size_t len);
void msd_out_cstr(struct msd_out *o, const char *s);
/* Render N into a new arena string (for back-references and local
 * scopes); sets d->err when it does not fit. */
const char *msd_render(struct msd *d, const struct msd_node *n,
                       const char *prefix, const char *suffix, size_t *len);

#endif
