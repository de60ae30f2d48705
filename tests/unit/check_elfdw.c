/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of elfdw, the ELF/DWARF reader, against oracles rather than
 * hand-written answers: the tests compile small C and C++ programs
 * (tests/data/elf/src) with gcc/g++ at -O0 and -O2 (inline chains up to
 * four deep), DWARF 4 and 5, stripped + separate debug file, and take
 * every instruction boundary of .text from objdump.  For each address the
 * frames our symtable gives (function, file, line, inline chain) are
 * compared with llvm-symbolizer-14 --inlines and eu-addr2line -f -i.
 * Known, explained classes of disagreement are counted apart (see
 * oracle_classify()) and the agreement rates are printed; a test fails
 * below a floor or on any unexplained difference beyond a small margin.
 * The real-world GCC fixture linux/crash(.debug) from getsentry/symbolic is
 * checked the same way and its identity against the fixture MANIFEST and
 * eu-readelf.  Truncated and bit-flipped files must give clean errors.
 */
#include "symsrvd_config.h"

#include "elf/elfdw.h"
#include "needtool.h"
#include "oracle.h"
#include "objfile/objfile.h"
#include "table/symtable.h"

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/check_elfdw.XXXXXX";

static const char *srcdir(void)
{
    const char *s = getenv("abs_top_srcdir");

    return s ? s : "..";
}

static char *data_path(const char *name)
{
    return oracle_fmt("%s/tests/data/elf/%s", srcdir(), name);
}

static char *tmp_path(const char *name)
{
    return oracle_fmt("%s/%s", tmpdir, name);
}

/* Compile sources from tests/data/elf/src into tmpdir/OUT. */
static char *compile(const char *cc, const char *flags, const char *sources,
                     const char *out)
{
    char *bin = tmp_path(out);
    char *cmd = oracle_fmt("cd '%s/tests/data/elf/src' && %s %s -o '%s' %s",
                           srcdir(), cc, flags, bin, sources);

    oracle_run(cmd);
    free(cmd);
    return bin;
}

/* --- building and querying our table ---------------------------------- */

struct built {
    struct symtable *t;
    void *blob;
    struct objfile_ident id;
};

/* The complete table of PATH, or with RVAS (not NULL) the cold table
 * elfdw_build_for() gives for those NRVAS addresses. */
static int build_for(const char *path, struct built *out, char *err,
                     size_t n, const uint64_t *rvas, size_t nrvas)
{
    struct objfile_map map;
    struct symtable_builder *b;
    size_t len;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = objfile_map(path, &map);
    ck_assert_msg(rc == 0, "map %s: %s", path, map.err);
    rc = elfdw_identify(&map, &out->id);
    b = symtable_builder_new();
    if (rc == 0)
        rc = rvas ? elfdw_build_for(&map, b, rvas, nrvas)
                  : elfdw_build(&map, b);
    if (rc != 0)
        snprintf(err, n, "%s", map.err);
    if (rc == 0) {
        ck_assert_int_eq(symtable_builder_finish(b, &out->blob, &len), 0);
        ck_assert_int_eq(symtable_load(out->blob, len, &out->t), 0);
    }
    symtable_builder_free(b);
    objfile_unmap(&map);
    return rc;
}

static int build(const char *path, struct built *out, char *err, size_t n)
{
    return build_for(path, out, err, n, NULL, 0);
}

static void built_free(struct built *b)
{
    symtable_close(b->t);
    free(b->blob);
}

/* eu-addr2line -a -f -i: "0x..." then pairs; the first function line may
 * read "NAME inlined at FILE:LINE in OUTER". */
static struct oracle_chain *parse_eu(char *text, size_t n)
{
    struct oracle_chain *v = calloc(n, sizeof(*v));
    char *p = text, *l;
    size_t i = 0;
    bool started = false;

    for (l = oracle_next_line(&p); l != NULL; l = oracle_next_line(&p)) {
        char *loc, *file, *cut;
        unsigned line;

        if (strncmp(l, "0x", 2) == 0 && strchr(l, ' ') == NULL) {
            i += started;
            started = true;
            ck_assert_uint_lt(i, n);
            continue;
        }
        cut = strstr(l, " inlined at ");
        if (cut)
            *cut = '\0';
        loc = oracle_next_line(&p);
        ck_assert_ptr_nonnull(loc);
        oracle_parse_loc(loc, &file, &line);
        oracle_chain_push(&v[i], l, file, line);
    }
    ck_assert_uint_eq(i + started, n);
    return v;
}

static struct oracle_chain *eu_answers(const char *bin, const char *afile,
                                       size_t n)
{
    /* eu-addr2line exits 1 when some address has no answer. */
    char *cmd = oracle_fmt(
        "eu-addr2line -a -f -i -e '%s' < '%s' || test $? = 1", bin, afile);
    char *text = oracle_capture(tmpdir, cmd);
    struct oracle_chain *v = parse_eu(text, n);

    free(text);
    free(cmd);
    return v;
}

/* Build BIN's table, symbolize every .text instruction of ADDR_BIN with
 * ours and with both oracles (run on ORACLE_BIN), and check the rates:
 * exact agreement with llvm-symbolizer of at least FLOOR_LLVM (it follows
 * the same naming policy), location agreement with eu-addr2line of at
 * least FLOOR_EU, and at most 0.5% unexplained differences with either. */
static void check_against_oracles(const char *label, const char *bin,
                                  const char *addr_bin, const char *oracle_bin,
                                  double floor_llvm, double floor_eu)
{
    struct built b;
    char err[256];
    size_t n;
    uint64_t *addrs = oracle_text_addresses(tmpdir, ".text", addr_bin, &n);
    char *afile = oracle_write_addresses(tmpdir, addrs, n);
    struct oracle_chain *u, *llvm, *eu;
    struct oracle_agreement a;

    ck_assert_msg(build(bin, &b, err, sizeof(err)) == 0, "%s", err);
    u = oracle_ours(b.t, addrs, n);
    llvm = oracle_llvm_answers(tmpdir, oracle_bin, afile, n);
    a = oracle_compare(label, "llvm", addrs, llvm, u, NULL, n);
    ck_assert_msg(a.exact >= floor_llvm, "%s: %.4f agreement with llvm",
                  label, a.exact);
    ck_assert_msg(a.unexplained <= n / 200, "%s: %zu unexplained vs llvm",
                  label, a.unexplained);
    eu = eu_answers(oracle_bin, afile, n);
    a = oracle_compare(label, "eu", addrs, eu, u, llvm, n);
    ck_assert_msg(a.location >= floor_eu,
                  "%s: %.4f location agreement with eu-addr2line", label,
                  a.location);
    ck_assert_msg(a.unexplained <= n / 200, "%s: %zu unexplained vs eu",
                  label, a.unexplained);
    oracle_chains_free(eu, n);
    oracle_chains_free(llvm, n);
    oracle_chains_free(u, n);
    built_free(&b);
    free(afile);
    free(addrs);
}

/* --- fixtures ------------------------------------------------------------ */

static void tmp_setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
    char *cmd = oracle_fmt("rm -rf '%s'", tmpdir);

    oracle_run(cmd);
    free(cmd);
    strcpy(tmpdir, "/tmp/check_elfdw.XXXXXX");
}

#define C_SOURCES "inlines.c inlines_util.c"

/* --- oracle comparisons -------------------------------------------------- */

/* Programs compiled by the test and compared as they are.  Floors: exact
 * agreement with llvm-symbolizer, location agreement with eu-addr2line.
 * clang is asked for .debug_aranges, without which eu-addr2line 0.188
 * finds no CU for most addresses (we do not need them). */
static const struct compiled_case {
    const char *label, *cc, *flags, *sources;
    double floor_llvm, floor_eu;
} compiled_cases[] = {
    {"gcc -O2", "gcc", "-g -O2", C_SOURCES, 0.97, 0.95},
    {"gcc -O3", "gcc", "-g -O3", C_SOURCES, 0.97, 0.95},
    {"gcc -O0", "gcc", "-g -O0", C_SOURCES, 0.995, 0.99},
    {"gcc -gdwarf-4 -O2", "gcc", "-gdwarf-4 -O2", C_SOURCES, 0.97, 0.95},
    {"g++ -O2", "g++", "-g -O2", "shapes.cc", 0.99, 0.95},
    {"clang-14 -O2", "clang-14", "-g -gdwarf-aranges -O2", C_SOURCES, 0.97,
     0.95},
    {"clang++-14 -O2", "clang++-14", "-g -gdwarf-aranges -O2", "shapes.cc",
     0.97, 0.95},
    {"no DWARF", "gcc", "-O2", C_SOURCES, 0.99, 0.99},
};

START_TEST(test_elfdw_matches_oracles)
{
    const struct compiled_case *c = &compiled_cases[_i];
    char *bin;

    if (!needtool(c->label, c->cc, NULL))
        return;
    bin = compile(c->cc, c->flags, c->sources, "prog");
    check_against_oracles(c->label, bin, bin, bin, c->floor_llvm,
                          c->floor_eu);
    free(bin);
}
END_TEST

/* Whether T and U give the same frames at RVA. */
static bool same_frames(const struct symtable *t, const struct symtable *u,
                        uint64_t rva)
{
    struct symtable_frame f[ORACLE_MAX_FRAMES], g[ORACLE_MAX_FRAMES];
    size_t n = symtable_lookup(t, rva, f, ORACLE_MAX_FRAMES, NULL);

    if (symtable_lookup(u, rva, g, ORACLE_MAX_FRAMES, NULL) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].function, g[i].function) != 0 ||
            strcmp(f[i].file ? f[i].file : "", g[i].file ? g[i].file : "") !=
                0 ||
            f[i].line != g[i].line || f[i].sym_rva != g[i].sym_rva ||
            f[i].line_rva != g[i].line_rva)
            return false;
    return true;
}

/* The cold path: a table built for one address (about 200 addresses per
 * program, spread over .text) answers that address exactly as the
 * complete table does, and so does one built for all of them at once;
 * and a one-address table really is partial (some other address answers
 * differently), or it would not be the cheap path it claims to be. */
START_TEST(test_elfdw_partial_matches_full)
{
    const struct compiled_case *c = &compiled_cases[_i];
    struct built full, all;
    char err[256], *bin;
    size_t n, step, partial = 0;
    uint64_t *addrs, base;

    if (!needtool(c->label, c->cc, NULL))
        return;
    bin = compile(c->cc, c->flags, c->sources, "prog");
    addrs = oracle_text_addresses(tmpdir, ".text", bin, &n);
    ck_assert_msg(build(bin, &full, err, sizeof(err)) == 0, "%s", err);
    base = symtable_image_base(full.t);
    for (size_t i = 0; i < n; i++)
        addrs[i] -= base;
    step = n / 200 + 1;
    for (size_t i = 0; i < n; i += step) {
        struct built one;

        ck_assert_msg(build_for(bin, &one, err, sizeof(err), &addrs[i], 1) ==
                          0,
                      "%s", err);
        ck_assert_msg(same_frames(full.t, one.t, addrs[i]),
                      "%s: cold table differs at rva 0x%" PRIx64, c->label,
                      addrs[i]);
        for (size_t j = 0; j < n && partial == 0; j += step)
            partial += !same_frames(full.t, one.t, addrs[j]);
        built_free(&one);
    }
    ck_assert_msg(partial > 0, "%s: no one-address table is partial",
                  c->label);
    ck_assert_msg(build_for(bin, &all, err, sizeof(err), addrs, n) == 0, "%s",
                  err);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(same_frames(full.t, all.t, addrs[i]),
                      "%s: all-address table differs at rva 0x%" PRIx64,
                      c->label, addrs[i]);
    built_free(&all);
    built_free(&full);
    free(addrs);
    free(bin);
}
END_TEST

/* Compile tmpdir/full (-g -O2, SHA-1 build id), split it into
 * tmpdir/app.debug and a stripped copy at tmpdir/APP with a debuglink. */
static char *make_stripped(const char *app)
{
    char *full = compile("gcc", "-g -O2 -Wl,--build-id=sha1", C_SOURCES,
                         "full");
    char *cmd = oracle_fmt("cd '%s' && mkdir -p \"$(dirname '%s')\" && "
                    "objcopy --only-keep-debug full app.debug && "
                    "objcopy --strip-all full app.tmp && "
                    "objcopy --add-gnu-debuglink=app.debug app.tmp '%s'",
                    tmpdir, app, app);

    oracle_run(cmd);
    free(cmd);
    free(full);
    return oracle_fmt("%s/%s", tmpdir, app);
}

/* A stripped binary with .gnu_debuglink finds its debug file next to it,
 * and answers exactly as the unstripped original does. */
START_TEST(test_elfdw_follows_debuglink)
{
    char *app = make_stripped("app");
    char *full = tmp_path("full");

    check_against_oracles("stripped+debuglink", app, app, full, 0.97, 0.95);
    free(full);
    free(app);
}
END_TEST

/* --obj may name the separate debug file itself (NOBITS .text). */
START_TEST(test_elfdw_reads_debug_file_directly)
{
    char *app = make_stripped("app");
    char *full = tmp_path("full");
    char *dbg = tmp_path("app.debug");

    check_against_oracles("debug file", dbg, full, full, 0.97, 0.95);
    free(dbg);
    free(full);
    free(app);
}
END_TEST

/* The GCC 5 C++ fixture: the debug file directly, and the binary, whose
 * .gnu_debuglink names the debug file beside it. */
/* One test per file: eu-addr2line needs 15-35 s for the fixture's 19 000
 * addresses, and both files in one test could pass Check's time limit. */
START_TEST(test_elfdw_matches_oracles_fixture_debug)
{
    char *bin = data_path("crash");
    char *dbg = data_path("crash.debug");

    check_against_oracles("crash.debug", dbg, bin, dbg, 0.985, 0.95);
    free(bin);
    free(dbg);
}
END_TEST

START_TEST(test_elfdw_matches_oracles_fixture_binary)
{
    char *bin = data_path("crash");

    check_against_oracles("crash", bin, bin, bin, 0.985, 0.95);
    free(bin);
}
END_TEST

START_TEST(test_elfdw_no_symbols_is_enoent)
{
    char *bin = compile("gcc", "-O2 -s", C_SOURCES, "bare");
    struct built b;
    char err[256] = "";

    ck_assert_int_eq(build(bin, &b, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "no DWARF"));
    ck_assert_ptr_nonnull(strstr(err, "bare"));
    free(bin);
}
END_TEST

START_TEST(test_elfdw_relocatable_is_enotsup)
{
    char *obj = compile("gcc", "-g -O2 -c", "inlines_util.c", "util.o");
    struct built b;
    char err[256] = "";

    ck_assert_int_eq(build(obj, &b, err, sizeof(err)), -ENOTSUP);
    ck_assert_ptr_nonnull(strstr(err, "util.o"));
    free(obj);
}
END_TEST

/* --- identity ------------------------------------------------------------ */

static void ident_of(const char *path, struct objfile_ident *id)
{
    struct objfile_map map;

    ck_assert_int_eq(objfile_map(path, &map), 0);
    ck_assert_msg(elfdw_identify(&map, id) == 0, "%s", map.err);
    objfile_unmap(&map);
}

/* The build id as eu-readelf -n prints it. */
static char *readelf_build_id(const char *path)
{
    char *cmd = oracle_fmt("eu-readelf -n '%s'", path);
    char *text = oracle_capture(tmpdir, cmd), *p = strstr(text, "Build ID: "),
         *id;

    ck_assert_ptr_nonnull(p);
    p += strlen("Build ID: ");
    id = strndup(p, strcspn(p, "\n"));
    free(text);
    free(cmd);
    return id;
}

/* The lowest PT_LOAD p_vaddr as eu-readelf -l prints it. */
static uint64_t readelf_image_base(const char *path)
{
    char *cmd = oracle_fmt("eu-readelf -l '%s'", path);
    char *text = oracle_capture(tmpdir, cmd), *p = text, *l;
    uint64_t best = UINT64_MAX;

    for (l = oracle_next_line(&p); l != NULL; l = oracle_next_line(&p)) {
        unsigned long long off, vaddr;

        if (sscanf(l, " LOAD 0x%llx 0x%llx", &off, &vaddr) == 2 &&
            vaddr < best)
            best = vaddr;
    }
    free(text);
    free(cmd);
    return best;
}

/* Breakpad's debug id from a hex build id, derived independently: pad
 * to 32 digits, swap the digit pairs of the first three GUID fields
 * unless the file is big-endian. */
static void debug_id_from_hex_endian(const char *hex, bool big_endian,
                                     char out[34])
{
    static const int swapped[16] = {3, 2, 1, 0, 5, 4, 7, 6,
                                    8, 9, 10, 11, 12, 13, 14, 15};
    static const int straight[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                     8, 9, 10, 11, 12, 13, 14, 15};
    const int *order = big_endian ? straight : swapped;
    char padded[33];
    size_t n = strlen(hex);

    memset(padded, '0', 32);
    padded[32] = '\0';
    memcpy(padded, hex, n < 32 ? n : 32);
    for (int i = 0; i < 16; i++) {
        out[2 * i] = (char)toupper((unsigned char)padded[2 * order[i]]);
        out[2 * i + 1] =
            (char)toupper((unsigned char)padded[2 * order[i] + 1]);
    }
    out[32] = '0';
    out[33] = '\0';
}

static void debug_id_from_hex(const char *hex, char out[34])
{
    debug_id_from_hex_endian(hex, false, out);
}

START_TEST(test_elfdw_identity_fixture)
{
    static const char *const names[] = {"crash", "crash.debug"};

    for (int i = 0; i < 2; i++) {
        char *path = data_path(names[i]);
        char *bid = readelf_build_id(path);
        struct objfile_ident id;

        ident_of(path, &id);
        /* Values from the fixtures' MANIFEST.md. */
        ck_assert_str_eq(id.code_id,
                         "f1c3bcc0279865fe3058404b2831d9e64135386c");
        ck_assert_str_eq(id.debug_id, "C0BCC3F19827FE653058404B2831D9E60");
        ck_assert_str_eq(id.code_id, bid);
        ck_assert_str_eq(id.arch, "x86_64");
        ck_assert_int_eq(id.kind, OBJFILE_ELF);
        ck_assert_uint_eq(id.image_base, readelf_image_base(path));
        ck_assert_uint_eq(id.image_base, 0x400000);
        ck_assert_str_eq(id.code_file, "crash");
        ck_assert_str_eq(id.debug_file, "crash.debug");
        free(bid);
        free(path);
    }
}
END_TEST

START_TEST(test_elfdw_identity_build_id)
{
    char *bin = compile("gcc", "-g -O2 -Wl,--build-id=sha1", C_SOURCES, "bid");
    char *short_bin =
        compile("gcc", "-O2 -Wl,--build-id=0x0102030405060708", C_SOURCES,
                "bid8");
    char *hex = readelf_build_id(bin);
    char want[34];
    struct objfile_ident id;

    ident_of(bin, &id);
    ck_assert_str_eq(id.code_id, hex);
    debug_id_from_hex(hex, want);
    ck_assert_str_eq(id.debug_id, want);
    ck_assert_uint_eq(id.image_base, readelf_image_base(bin));
    ck_assert_str_eq(id.code_file, "bid");
    ck_assert_str_eq(id.debug_file, "bid");

    ident_of(short_bin, &id);
    ck_assert_str_eq(id.code_id, "0102030405060708");
    debug_id_from_hex("0102030405060708", want);
    ck_assert_str_eq(id.debug_id, want);
    free(hex);
    free(short_bin);
    free(bin);
}
END_TEST

/* Without a build id, the debug id is the first page of .text XOR-folded
 * into 16 bytes; the test folds the bytes objcopy extracts. */
START_TEST(test_elfdw_identity_text_hash)
{
    char *bin = compile("gcc", "-O2 -Wl,--build-id=none", C_SOURCES, "nobid");
    char *cmd = oracle_fmt(
        "objcopy -O binary --only-section=.text '%s' '%s/text'", bin, tmpdir);
    char *tpath = tmp_path("text");
    uint8_t fold[16] = {0};
    char hex[33], want[34];
    size_t len;
    char *text;
    struct objfile_ident id;

    oracle_run(cmd);
    text = oracle_slurp(tpath, &len);
    for (size_t i = 0; i < len && i < 4096; i++)
        fold[i % 16] ^= (uint8_t)text[i];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", fold[i]);
    debug_id_from_hex(hex, want);
    ident_of(bin, &id);
    ck_assert_str_eq(id.code_id, "");
    ck_assert_str_eq(id.debug_id, want);
    free(text);
    free(tpath);
    free(cmd);
    free(bin);
}
END_TEST

/* Other architectures, built with clang-14 and ld.lld: the arch name,
 * ELF32 and big-endian identity (no GUID swap for big-endian files, as
 * symbolic does) and symbolization against both oracles. */
static const struct cross_case {
    const char *target, *arch;
} cross_cases[] = {
    {"i686-linux-gnu", "x86"},
    {"aarch64-linux-gnu", "arm64"},
    {"armv7a-linux-gnueabihf", "arm"},
    {"riscv64-linux-gnu", "riscv64"},
    {"powerpc64le-linux-gnu", "ppc64"},
    {"powerpc64-linux-gnu", "ppc64"},
    {"mips-linux-gnu", "mips"},
};

START_TEST(test_elfdw_cross_arch)
{
    const struct cross_case *c = &cross_cases[_i];
    char *flags, *bin, *hex, *cmd, *hdr;
    char want[34];
    struct objfile_ident id;

    if (!needtool(c->target, "clang-14", "ld.lld", NULL))
        return;
    flags = oracle_fmt(
        "--target=%s -g -gdwarf-aranges -O2 -ffreestanding -nostdlib "
        "-static "
        "-fuse-ld=lld -Wl,--build-id=sha1 -Wl,-e,_start",
        c->target);
    bin = compile("clang-14", flags, "freestanding.c", "cross");
    hex = readelf_build_id(bin);
    cmd = oracle_fmt("eu-readelf -h '%s'", bin);
    hdr = oracle_capture(tmpdir, cmd);
    ident_of(bin, &id);
    ck_assert_str_eq(id.arch, c->arch);
    ck_assert_str_eq(id.code_id, hex);
    debug_id_from_hex_endian(hex, strstr(hdr, "big endian") != NULL, want);
    ck_assert_str_eq(id.debug_id, want);
    ck_assert_uint_eq(id.image_base, readelf_image_base(bin));
    check_against_oracles(c->target, bin, bin, bin, 0.97, 0.95);
    free(hdr);
    free(cmd);
    free(hex);
    free(bin);
    free(flags);
}
END_TEST

/* --- debug file search --------------------------------------------------- */

static char *find_debug(const char *path, const char *root)
{
    struct objfile_map map;
    char *out = NULL;
    int rc;

    ck_assert_int_eq(objfile_map(path, &map), 0);
    rc = elfdw_find_debug_file(&map, root, &out);
    objfile_unmap(&map);
    ck_assert_int_eq(rc == 0, out != NULL);
    return out;
}

START_TEST(test_elfdw_debug_search_paths)
{
    char *app = make_stripped("bin/app");
    char *full = tmp_path("full");
    char *bid = readelf_build_id(full);
    char *root = tmp_path("root");
    char *found, *want, *cmd;

    /* Nowhere yet: the debug file is in the parent directory. */
    ck_assert_ptr_null(find_debug(app, root));
    /* ROOT/<absolute dir of the binary>/NAME */
    cmd = oracle_fmt("mkdir -p '%s%s/bin' && cp '%s/app.debug' '%s%s/bin/'",
                     root, tmpdir, tmpdir, root, tmpdir);
    oracle_run(cmd);
    free(cmd);
    found = find_debug(app, root);
    want = oracle_fmt("%s%s/bin/app.debug", root, tmpdir);
    ck_assert_str_eq(found, want);
    free(found);
    free(want);
    /* bin/.debug/NAME wins over ROOT/<dir>. */
    cmd = oracle_fmt(
        "mkdir -p '%s/bin/.debug' && cp '%s/app.debug' '%s/bin/.debug/'",
        tmpdir, tmpdir, tmpdir);
    oracle_run(cmd);
    free(cmd);
    found = find_debug(app, root);
    ck_assert_ptr_nonnull(strstr(found, "/bin/.debug/app.debug"));
    free(found);
    /* ROOT/.build-id/xx/rest.debug wins over the debuglink. */
    cmd = oracle_fmt("mkdir -p '%s/.build-id/%.2s' && cp '%s/app.debug' "
              "'%s/.build-id/%.2s/%s.debug'",
              root, bid, tmpdir, root, bid, bid + 2);
    oracle_run(cmd);
    free(cmd);
    found = find_debug(app, root);
    ck_assert_ptr_nonnull(strstr(found, "/.build-id/"));
    free(found);
    free(root);
    free(app);
    free(bid);
    free(full);
}
END_TEST

/* A debug file whose CRC does not match the debuglink is not used. */
START_TEST(test_elfdw_debug_crc_mismatch)
{
    char *app = make_stripped("app");
    char *cmd = oracle_fmt("printf x >> '%s/app.debug'", tmpdir);

    oracle_run(cmd);
    ck_assert_ptr_null(find_debug(app, NULL));
    free(cmd);
    free(app);
}
END_TEST

/* dwz moves DIEs two C++ programs share into an alt file named by
 * .gnu_debugaltlink (here relative, which libdw alone would not find):
 * the answers must be those of the program before dwz. */
static bool make_dwz_pair(void)
{
    char *a, *b, *cmd;

    if (!needtool("dwz test", "dwz", "g++", NULL))
        return false;
    a = compile("g++", "-g -O2", "shapes.cc", "app");
    b = compile("g++", "-g -O1", "shapes.cc", "other");
    cmd = oracle_fmt("cd '%s' && rm -f common.debug && cp app app.orig && "
              "dwz -m common.debug -M common.debug app other",
              tmpdir);
    oracle_run(cmd);
    free(cmd);
    free(b);
    free(a);
    return true;
}

START_TEST(test_elfdw_dwz_alt_file)
{
    char *app = tmp_path("app");
    char *orig = tmp_path("app.orig");

    if (make_dwz_pair())
        check_against_oracles("dwz", app, app, orig, 0.99, 0.95);
    free(orig);
    free(app);
}
END_TEST

/* An altlink naming a FIFO (which would block an open()) or the wrong file
 * is refused with a message, without opening it. */
START_TEST(test_elfdw_dwz_alt_refused)
{
    static const char *const replace[] = {"mkfifo common.debug",
                                          "cp other common.debug"};
    char *app = tmp_path("app");

    for (size_t i = 0; i < 2 && make_dwz_pair(); i++) {
        char *cmd = oracle_fmt("cd '%s' && rm common.debug && %s", tmpdir,
                        replace[i]);
        struct built b;
        char err[256] = "";

        oracle_run(cmd);
        ck_assert_int_eq(build(app, &b, err, sizeof(err)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "dwz alt file"));
        ck_assert_ptr_nonnull(strstr(err, "common.debug"));
        free(cmd);
    }
    free(app);
}
END_TEST

/* --- hostile input ------------------------------------------------------- */

/* Build from a copy of DATA[0..LEN) written to a file; the result must be
 * success or a negative errno with a message. */
static void expect_clean(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    struct objfile_map map;
    struct objfile_ident id;
    struct symtable_builder *b;
    int rc;

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    if (objfile_map(path, &map) != 0)
        return; /* an empty file may be refused by the mapper */
    rc = elfdw_identify(&map, &id);
    ck_assert_msg(rc == 0 || (rc < 0 && map.err[0] != '\0'),
                  "identify rc %d without a message", rc);
    b = symtable_builder_new();
    map.err[0] = '\0';
    rc = elfdw_build(&map, b);
    ck_assert_msg(rc == 0 || (rc < 0 && map.err[0] != '\0'),
                  "build rc %d without a message", rc);
    symtable_builder_free(b);
    objfile_unmap(&map);
}

START_TEST(test_elfdw_truncated_is_clean)
{
    char *src = data_path("crash.debug");
    char *dst = tmp_path("cut");
    size_t len;
    uint8_t *data = (uint8_t *)oracle_slurp(src, &len);
    static const size_t cuts[] = {1, 4, 16, 52, 63, 64, 65, 200, 4096};

    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
        expect_clean(dst, data, cuts[i]);
    for (size_t k = 1; k < 16; k++)
        expect_clean(dst, data, len * k / 16);
    expect_clean(dst, data, len - 1);
    free(data);
    free(dst);
    free(src);
}
END_TEST

START_TEST(test_elfdw_bitflips_are_clean)
{
    char *bin = compile("gcc", "-g -O2", C_SOURCES, "flip-src");
    char *dst = tmp_path("flipped");
    size_t len;
    uint8_t *data = (uint8_t *)oracle_slurp(bin, &len);
    uint8_t *copy = malloc(len);
    uint32_t seed = 12345;

    for (int round = 0; round < 150; round++) {
        memcpy(copy, data, len);
        for (int k = 0; k < 8; k++) {
            seed = seed * 1103515245u + 12345u;
            /* Half the flips in the first 4 KiB (headers), half anywhere. */
            size_t at = (k & 1) ? (seed >> 4) % len : (seed >> 4) % 4096;

            copy[at] ^= (uint8_t)(1u << (seed & 7));
        }
        expect_clean(dst, copy, len);
    }
    free(copy);
    free(data);
    free(dst);
    free(bin);
}
END_TEST

START_TEST(test_elfdw_rejects_non_elf)
{
    char *src = data_path("README.md");
    struct objfile_map map;
    struct objfile_ident id;

    ck_assert_int_eq(objfile_map(src, &map), 0);
    ck_assert_int_eq(elfdw_identify(&map, &id), -EINVAL);
    ck_assert_ptr_nonnull(strstr(map.err, "README.md: not an ELF file"));
    objfile_unmap(&map);
    free(src);
}
END_TEST

static Suite *elfdw_suite(void)
{
    Suite *s = suite_create("elfdw");
    TCase *oracle = tcase_create("oracle");
    TCase *ident = tcase_create("identity");
    TCase *search = tcase_create("debugfile");
    TCase *reject = tcase_create("reject");

    tcase_add_checked_fixture(oracle, tmp_setup, tmp_teardown);
    tcase_add_checked_fixture(ident, tmp_setup, tmp_teardown);
    tcase_add_checked_fixture(search, tmp_setup, tmp_teardown);
    tcase_add_checked_fixture(reject, tmp_setup, tmp_teardown);
    tcase_set_timeout(oracle, 120);
    tcase_set_timeout(reject, 120);
    tcase_set_timeout(search, 60);
    tcase_set_timeout(ident, 60);
    tcase_add_loop_test(oracle, test_elfdw_matches_oracles, 0,
                        sizeof(compiled_cases) / sizeof(compiled_cases[0]));
    tcase_add_loop_test(oracle, test_elfdw_partial_matches_full, 0,
                        sizeof(compiled_cases) / sizeof(compiled_cases[0]));
    tcase_add_test(oracle, test_elfdw_follows_debuglink);
    tcase_add_test(oracle, test_elfdw_reads_debug_file_directly);
    tcase_add_test(oracle, test_elfdw_matches_oracles_fixture_debug);
    tcase_add_test(oracle, test_elfdw_matches_oracles_fixture_binary);
    tcase_add_test(oracle, test_elfdw_no_symbols_is_enoent);
    tcase_add_test(oracle, test_elfdw_relocatable_is_enotsup);
    tcase_add_test(ident, test_elfdw_identity_fixture);
    tcase_add_test(ident, test_elfdw_identity_build_id);
    tcase_add_test(ident, test_elfdw_identity_text_hash);
    tcase_add_loop_test(ident, test_elfdw_cross_arch, 0,
                        sizeof(cross_cases) / sizeof(cross_cases[0]));
    tcase_add_test(search, test_elfdw_debug_search_paths);
    tcase_add_test(search, test_elfdw_debug_crc_mismatch);
    tcase_add_test(search, test_elfdw_dwz_alt_file);
    tcase_add_test(search, test_elfdw_dwz_alt_refused);
    tcase_add_test(reject, test_elfdw_truncated_is_clean);
    tcase_add_test(reject, test_elfdw_bitflips_are_clean);
    tcase_add_test(reject, test_elfdw_rejects_non_elf);
    suite_add_tcase(s, oracle);
    suite_add_tcase(s, ident);
    suite_add_tcase(s, search);
    suite_add_tcase(s, reject);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    if (!needtool("check_elfdw", "gcc", "llvm-objdump-14", "objcopy",
                  "llvm-symbolizer-14", "eu-addr2line", "eu-readelf", NULL))
        return 77;
    sr = srunner_create(elfdw_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
