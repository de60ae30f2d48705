/* SPDX-License-Identifier: MIT */
/*
 * symbolicate_int: module resolution, shared by symbolicate.c (POST
 * /symbolicate) and symminidump.c (POST /minidump).  Not for use outside
 * them.
 */
#ifndef SYMSRVD_SYMBOLICATE_INT_H
#define SYMSRVD_SYMBOLICATE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "objfile/objfile.h"
#include "symsource.h"

struct jsonarena;
struct symbolicator;
struct stabcache;

struct symbolicator {
    const struct config *cfg;
    struct stabcache *tables;
    struct symsource_pool pool;
    bool has_pool;
};

/* A value of a request frame as the answer repeats it: its JSON text as
 * jsonout_json() writes it; P is NULL when the frame has none.  The text
 * lives as long as the request. */
struct jtext {
    const char *p;
    size_t len;
};

/* A member of a request frame that a frame the answer cannot symbolicate
 * repeats: its key, quoted, and its value. */
struct frame_member {
    struct jtext key, val;
};

/* What the answer reads of a request frame, taken as it is parsed. */
struct frame_in {
    struct jtext addr_mode, adjust, platform, in_app, trust;
    bool has_package;
    bool scan;        /* trust is "scan" or "cfiscan" */
    bool rel;         /* addr_mode is "rel:..." */
    size_t rel_index; /* its module index, SIZE_MAX when not a number */
    /* the members but status, original_index, instruction_addr and
     * addr_mode, in the request's members */
    size_t member0, nmembers;
    uint64_t addr; /* instruction_addr */
};

/* A parsed POST /symbolicate request. */
struct symreq {
    struct jsonarena *arena; /* root's values and the frames' texts */
    json_t *root;
    json_t *stacks; /* stacktraces or threads (a reference) */
    size_t *stack_nframes; /* how many frames each stack has */
    struct frame_in *frames; /* every stack's, one after the other */
    size_t nframes, framecap;
    struct frame_member *members; /* of frames[] */
    size_t nmembers, memcap;
    json_t *modules; /* borrowed from root */
    struct symsource_list sources;
    char *scope;
    bool demangle, dif_candidates, caller_first;
    bool has_signal;
    json_int_t signal;
};

/* symreq_parse(), with DIRECT false never trying symreqin_direct(): for
 * tests that hold the two paths to the same answers. */
struct symreq_params;
int symreq_parse_how(const char *body, size_t len,
                     const struct symreq_params *p, bool direct,
                     struct symreq **out, char *err, size_t errlen);

/* symreqin.c: a request's frames into R's frames and members. */

/* Read BODY[0..LEN) into R: its root and its stacks' frames, taken straight
 * from the text (no jansson value per frame), the rest as jansson values
 * in R's arena (which must be new).  False when it cannot: anything
 * but a well-formed body of the common shape (an error, a key with
 * escapes, stacktraces and threads both, ...), which jsonin_parse() and
 * symreqin_frame() then read and judge; what it gives equals theirs. */
bool symreqin_direct(struct symreq *r, const char *body, size_t len);

/* Append the frame IN (a jansson value) to R's: false when its
 * instruction_addr is not a HexValue. */
bool symreqin_frame(struct symreq *r, const json_t *in);

/* A usable symbol file found for a module. */
struct symfound {
    char *path; /* local file */
    enum objfile_kind kind;
    int quality; /* 0 debug info, 1 symbols only */
};

/* One module of a request, as parsed and as resolved. */
struct module {
    const json_t *raw;
    struct layout_ids ids;
    char debug_id[48]; /* canonical, "" when absent or unparsable */
    uint64_t addr, size; /* size UINT64_MAX: reaches to the end */
    bool used;
    bool would_block; /* ctx->nowait: resolving it needs a download or a
                       * table that is not in memory */
    const char *status;
    struct stab *stab;
    json_t *candidates; /* NULL when not asked for */
    struct symfound *found; /* usable files, in the order tried */
    size_t nfound;
    uint64_t *rvas;         /* what frames may look up, image-relative: a
                             * cold ELF is read only where these fall */
    size_t nrvas, rvacap;
};

/* Fill M from the request's module object RAW (borrowed); M's candidates
 * are recorded only when CANDIDATES (dif_candidates asked for them). */
void module_init(struct module *m, const json_t *raw, bool candidates);

/* Look M up in SOURCES: sets status, stab, found and candidates; with
 * CTX->nowait it stops at the first file that would need a download or a
 * table not in memory, and sets would_block instead. */
void module_resolve(struct symbolicator *s,
                    const struct symsource_list *sources,
                    const struct symsource_ctx *ctx, struct module *m);

/* M in the answer's "modules" (candidates when DIF_CANDIDATES), as JSON
 * text into O: written directly, as a small request pays for its modules
 * as for many frames. */
struct jsonout;
void module_write(struct jsonout *o, bool dif_candidates,
                  const struct module *m);

/* The same as a jansson object, for the minidump answer that merges it. */
json_t *module_json(bool dif_candidates, const struct module *m);

/* Free what module_init() and module_resolve() took. */
void module_release(struct symbolicator *s, struct module *m);

/* Symbolicator's HexValue: a JSON integer, "0x..." hex or a decimal
 * string, into *OUT. */
bool hexvalue(const json_t *v, uint64_t *out);
/* The same for the string S[0..LEN) (not NUL-terminated). */
bool hexvalue_text(const char *s, size_t len, uint64_t *out);

/* The module frame FI points into (its "addr_mode" honoured) and its
 * absolute address, or NULL (*ADDR still set). */
struct module *frame_module(struct module *mods, size_t nmods,
                            const struct frame_in *fi, uint64_t *addr);

/* R's stacktraces, symbolicated with MODS, as a JSON array into OUT. */
void frames_write(struct jsonout *out, const struct symreq *r,
                  struct module *mods, size_t nmods);

#endif
