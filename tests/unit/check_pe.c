/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the PE reader: identities against llvm-readobj-14 for the
 * MSVC fixtures and for images built here (PE32+ and PE32), the matching
 * PDB found next to the image, the export-table fallback when the PDB is
 * missing or does not match (checked against llvm-readobj's export list),
 * and damaged images.
 */
#include "symsrvd_config.h"

#include "pe/pe.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "needtool.h"
#include "pdb_testutil.h"
#include "xalloc.h"

/* The text after "KEY: " (first occurrence). */
static const char *field(const char *out, const char *key)
{
    const char *p = strstr(out, key);

    ck_assert_msg(p != NULL, "llvm-readobj printed no %s", key);
    return p + strlen(key);
}

/* The hex number in the first "(0x...)" after KEY. */
static unsigned long paren_hex(const char *out, const char *key)
{
    const char *p = strstr(field(out, key), "(0x");

    ck_assert_ptr_nonnull(p);
    return strtoul(p + 1, NULL, 16);
}

static const char *arch_of(unsigned long machine)
{
    return machine == 0x8664 ? "x86_64" : machine == 0x14c ? "x86" : "?";
}

static void check_identity(const char *exe)
{
    char *out = tu_run("llvm-readobj-14 --file-headers "
                       "--coff-debug-directory '%s'", exe);
    char want[96], file[300];
    unsigned int g[16];
    const char *p, *name;
    struct objfile_ident id;
    struct objfile_map map;

    ck_assert_ptr_nonnull(out);
    tu_map(exe, &map);
    ck_assert_int_eq(pe_identify(&map, &id), 0);
    ck_assert_int_eq(id.kind, OBJFILE_PE);
    snprintf(want, sizeof(want), "%08lX%lX",
             paren_hex(out, "TimeDateStamp:"),
             strtoul(field(out, "SizeOfImage:"), NULL, 10));
    ck_assert_str_eq(id.code_id, want);
    ck_assert_uint_eq(id.image_base,
                      strtoull(field(out, "ImageBase:"), NULL, 16));
    ck_assert_str_eq(id.arch, arch_of(paren_hex(out, "Machine:")));
    p = field(out, "PDBGUID: (");
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(sscanf(p + 3 * i, "%2x", &g[i]), 1);
    snprintf(want, sizeof(want),
             "%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X"
             "%02X%lX",
             g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9],
             g[10], g[11], g[12], g[13], g[14], g[15],
             strtoul(field(out, "PDBAge:"), NULL, 10));
    ck_assert_str_eq(id.debug_id, want);
    snprintf(file, sizeof(file), "%.*s",
             (int)strcspn(field(out, "PDBFileName: "), "\n"),
             field(out, "PDBFileName: "));
    name = strrchr(file, '\\') ? strrchr(file, '\\') + 1 : file;
    name = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    ck_assert_str_eq(id.debug_file, name);
    ck_assert_str_eq(id.code_file, strrchr(exe, '/') + 1);
    tu_unmap(&map);
    free(out);
}

START_TEST(test_pe_identity_matches_readobj)
{
    char *dir = tu_tmpdir(), *path;

    path = tu_data("crash.exe");
    check_identity(path);
    free(path);
    path = tu_data("CrashWithException.exe");
    check_identity(path);
    free(path);
    tu_build_image(dir, "x86_64", "gen64", false);
    tu_build_image(dir, "i686", "gen32", false);
    path = xasprintf("%s/gen64.exe", dir);
    check_identity(path);
    free(path);
    path = xasprintf("%s/gen32.exe", dir);
    check_identity(path);
    free(path);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

static const char *outer(const struct symtable *t, uint64_t rva)
{
    struct symtable_frame f[16];
    size_t n = symtable_lookup(t, rva, f, 16, NULL);

    return n ? f[n - 1].function : "(none)";
}

START_TEST(test_pe_build_uses_matching_pdb)
{
    char *dir = tu_tmpdir(), *exe, *out;
    struct symtable_builder *b = symtable_builder_new();
    struct objfile_map map;
    struct symtable *t;
    void *blob;
    size_t len;

    tu_build_image(dir, "x86_64", "gen", false);
    exe = xasprintf("%s/gen.exe", dir);
    tu_map(exe, &map);
    ck_assert_int_eq(pe_build(&map, b), 0);
    ck_assert_msg(strstr(map.err, "symbols from gen.pdb"), "%s", map.err);
    ck_assert_int_eq(symtable_builder_finish(b, &blob, &len), 0);
    ck_assert_int_eq(symtable_load(blob, len, &t), 0);
    ck_assert_uint_eq(symtable_image_base(t), 0x140000000);
    out = tu_run("llvm-readobj-14 --file-headers '%s'", exe);
    ck_assert_str_eq(outer(t, strtoull(field(out, "AddressOfEntryPoint:"),
                                       NULL, 16)),
                     "mainCRTStartup");
    /* Nothing past SizeOfImage, however open-ended the last symbol. */
    free(out);
    out = tu_run("llvm-readobj-14 --file-headers '%s'", exe);
    ck_assert_str_eq(outer(t, strtoull(field(out, "SizeOfImage:"), NULL, 0)),
                     "(none)");
    symtable_close(t);
    free(blob);
    free(out);
    symtable_builder_free(b);
    tu_unmap(&map);
    free(exe);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* Every export llvm-readobj lists resolves to its own name. */
static void check_exports(const char *dll, const char *why)
{
    char *out = tu_run("llvm-readobj-14 --coff-exports '%s'", dll);
    struct symtable_builder *b = symtable_builder_new();
    struct objfile_map map;
    struct symtable *t;
    const char *p;
    void *blob;
    size_t len, n = 0;

    ck_assert_ptr_nonnull(out);
    tu_map(dll, &map);
    ck_assert_int_eq(pe_build(&map, b), 0);
    ck_assert_msg(strstr(map.err, why), "%s", map.err);
    ck_assert_int_eq(symtable_builder_finish(b, &blob, &len), 0);
    ck_assert_int_eq(symtable_load(blob, len, &t), 0);
    for (p = strstr(out, "Name: "); p; p = strstr(p + 1, "Name: ")) {
        char name[64];
        const char *rva = strstr(p, "RVA: ");

        ck_assert_ptr_nonnull(rva);
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(p + 6, "\n"),
                 p + 6);
        if (!name[0])
            continue; /* the unnamed ordinal-base slot */
        ck_assert_str_eq(outer(t, strtoull(rva + 5, NULL, 16)), name);
        n++;
    }
    ck_assert_uint_eq(n, 3);
    symtable_close(t);
    free(blob);
    symtable_builder_free(b);
    tu_unmap(&map);
    free(out);
}

START_TEST(test_pe_falls_back_to_exports)
{
    char *dir = tu_tmpdir(), *src = tu_data("exports.c"), *dll;

    tu_shell(
        "cd '%s' && clang-14 --target=x86_64-pc-windows-msvc -c -g "
        "-gcodeview -O1 -ffreestanding -o exports.obj '%s' && lld-link-14 "
        "/nologo /dll /noentry /nodefaultlib /debug /pdbaltpath:%%_PDB%% "
        "/out:exports.dll /pdb:exports.pdb exports.obj && mv exports.pdb "
        "kept.pdb",
        dir, src);
    dll = xasprintf("%s/exports.dll", dir);
    check_exports(dll, "PDB not found next to the image");
    tu_build_image(dir, "x86_64", "other", false);
    tu_shell("cp '%s/other.pdb' '%s/exports.pdb'", dir, dir);
    check_exports(dll, "PDB does not match the image");
    free(dll);
    free(src);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

static void build_damaged(const uint8_t *data, size_t len)
{
    struct objfile_map m = {.path = "no-such-dir/damaged.exe",
                            .data = data, .len = len};
    struct symtable_builder *b = symtable_builder_new();
    struct objfile_ident id;
    int rc = pe_identify(&m, &id);

    ck_assert_msg(rc == 0 || (rc == -EINVAL && m.err[0]), "rc %d", rc);
    rc = pe_build(&m, b);
    ck_assert_msg(rc == 0 || (rc == -EINVAL && m.err[0]), "rc %d", rc);
    symtable_builder_free(b);
}

START_TEST(test_pe_damaged_files_fail_cleanly)
{
    static const char *const names[] = {"crash.exe", "CrashWithException.exe"};

    for (size_t i = 0; i < 2; i++) {
        char *path = tu_data(names[i]);
        struct objfile_map m;
        unsigned seed = 11;
        uint8_t *copy;

        tu_map(path, &m);
        copy = xmalloc(m.len);
        for (size_t cut = 0; cut < m.len; cut += cut < 1024 ? 3 : 509)
            build_damaged(m.data, cut);
        for (int k = 0; k < 2000; k++) {
            size_t at = (size_t)rand_r(&seed) % (k % 2 ? m.len : 1024);

            memcpy(copy, m.data, m.len);
            copy[at] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
            build_damaged(copy, m.len);
        }
        free(copy);
        tu_unmap(&m);
        free(path);
    }
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {
        test_pe_identity_matches_readobj,
        test_pe_build_uses_matching_pdb,
        test_pe_falls_back_to_exports,
        test_pe_damaged_files_fail_cleanly,
    };

    if (!needtool("check_pe", "clang-14", "lld-link-14", "llvm-readobj-14",
                  NULL))
        return 77;
    return tu_run_suite("pe", tests, sizeof(tests) / sizeof(tests[0]));
}
