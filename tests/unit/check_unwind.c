/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the unwind register model: counts and special registers
 * per CPU (DWARF numbering, as unwind.h lists it), the names
 * minidump_stackwalk prints, STACK CFI name lookup, callee-saved sets
 * (Breakpad's CFI walkers' lists) and little-endian word reads.
 */
#include "symsrvd_config.h"

#include "unwind/unwind.h"

#include "unwind_testmem.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define BIT(n) ((uint64_t)1 << (n))

START_TEST(test_unwind_counts)
{
    ck_assert_uint_eq(unwind_reg_count(UNWIND_CPU_X86), 10);
    ck_assert_uint_eq(unwind_reg_count(UNWIND_CPU_AMD64), 17);
    ck_assert_uint_eq(unwind_reg_count(UNWIND_CPU_ARM), 16);
    ck_assert_uint_eq(unwind_reg_count(UNWIND_CPU_ARM64), 33);
    ck_assert_uint_eq(unwind_reg_count(UNWIND_CPU_UNKNOWN), 0);
    ck_assert_uint_eq(unwind_addr_size(UNWIND_CPU_X86), 4);
    ck_assert_uint_eq(unwind_addr_size(UNWIND_CPU_ARM64), 8);
    ck_assert_uint_eq(unwind_addr_size((enum unwind_cpu)77), 0);
    ck_assert_int_eq(unwind_reg_pc(UNWIND_CPU_X86), 8);
    ck_assert_int_eq(unwind_reg_sp(UNWIND_CPU_X86), 4);
    ck_assert_int_eq(unwind_reg_fp(UNWIND_CPU_X86), 5);
    ck_assert_int_eq(unwind_reg_lr(UNWIND_CPU_X86), -1);
    ck_assert_int_eq(unwind_reg_pc(UNWIND_CPU_AMD64), 16);
    ck_assert_int_eq(unwind_reg_sp(UNWIND_CPU_AMD64), 7);
    ck_assert_int_eq(unwind_reg_fp(UNWIND_CPU_AMD64), 6);
    ck_assert_int_eq(unwind_reg_lr(UNWIND_CPU_AMD64), -1);
    ck_assert_int_eq(unwind_reg_pc(UNWIND_CPU_ARM), 15);
    ck_assert_int_eq(unwind_reg_lr(UNWIND_CPU_ARM), 14);
    ck_assert_int_eq(unwind_reg_fp(UNWIND_CPU_ARM), 11);
    ck_assert_int_eq(unwind_reg_pc(UNWIND_CPU_ARM64), 32);
    ck_assert_int_eq(unwind_reg_sp(UNWIND_CPU_ARM64), 31);
    ck_assert_int_eq(unwind_reg_lr(UNWIND_CPU_ARM64), 30);
    ck_assert_int_eq(unwind_reg_pc(UNWIND_CPU_UNKNOWN), -1);
    ck_assert_str_eq(unwind_cpu_name(UNWIND_CPU_AMD64), "amd64");
    ck_assert_str_eq(unwind_cpu_name((enum unwind_cpu)9), "unknown");
}
END_TEST

START_TEST(test_unwind_names)
{
    static const char *const x86[] = {"eax", "ecx", "edx", "ebx", "esp",
                                      "ebp", "esi", "edi", "eip", "efl"};
    static const char *const amd64[] = {
        "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8",
        "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip"};

    for (int i = 0; i < 10; i++)
        ck_assert_str_eq(unwind_reg_name(UNWIND_CPU_X86, i), x86[i]);
    for (int i = 0; i < 17; i++)
        ck_assert_str_eq(unwind_reg_name(UNWIND_CPU_AMD64, i), amd64[i]);
    ck_assert_str_eq(unwind_reg_name(UNWIND_CPU_ARM64, 0), "x0");
    ck_assert_str_eq(unwind_reg_name(UNWIND_CPU_ARM64, 28), "x28");
    ck_assert_str_eq(unwind_reg_name(UNWIND_CPU_ARM64, 29), "fp");
    ck_assert_str_eq(unwind_reg_name(UNWIND_CPU_ARM64, 30), "lr");
    ck_assert_str_eq(unwind_reg_name(UNWIND_CPU_ARM64, 31), "sp");
    ck_assert_str_eq(unwind_reg_name(UNWIND_CPU_ARM64, 32), "pc");
    ck_assert_str_eq(unwind_reg_name(UNWIND_CPU_ARM, 10), "r10");
    ck_assert_str_eq(unwind_reg_name(UNWIND_CPU_ARM, 11), "fp");
    ck_assert_str_eq(unwind_reg_name(UNWIND_CPU_ARM, 13), "sp");
    ck_assert_str_eq(unwind_reg_name(UNWIND_CPU_ARM, 15), "pc");
    ck_assert_ptr_null(unwind_reg_name(UNWIND_CPU_X86, 10));
    ck_assert_ptr_null(unwind_reg_name(UNWIND_CPU_X86, -1));
    ck_assert_ptr_null(unwind_reg_name(UNWIND_CPU_UNKNOWN, 0));
}
END_TEST

static int lookup(enum unwind_cpu cpu, const char *name)
{
    return unwind_reg_lookup(cpu, name, strlen(name));
}

START_TEST(test_unwind_lookup)
{
    ck_assert_int_eq(lookup(UNWIND_CPU_AMD64, "$rax"), 0);
    ck_assert_int_eq(lookup(UNWIND_CPU_AMD64, "$rdx"), 1);
    ck_assert_int_eq(lookup(UNWIND_CPU_AMD64, "$rsp"), 7);
    ck_assert_int_eq(lookup(UNWIND_CPU_AMD64, "$r15"), 15);
    ck_assert_int_eq(lookup(UNWIND_CPU_AMD64, "rip"), 16);
    ck_assert_int_eq(lookup(UNWIND_CPU_AMD64, "$eip"), -1);
    ck_assert_int_eq(lookup(UNWIND_CPU_X86, "$eip"), 8);
    ck_assert_int_eq(lookup(UNWIND_CPU_X86, "$efl"), 9);
    ck_assert_int_eq(lookup(UNWIND_CPU_X86, "$ebx"), 3);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM64, "x29"), 29);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM64, "fp"), 29);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM64, "lr"), 30);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM64, "x30"), 30);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM64, "sp"), 31);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM64, "pc"), 32);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM64, "x32"), -1);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM, "r11"), 11);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM, "fp"), 11);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM, "sp"), 13);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM, "lr"), 14);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM, "pc"), 15);
    ck_assert_int_eq(lookup(UNWIND_CPU_ARM, "r1"), 1);
    /* prefixes of a name are not the name */
    ck_assert_int_eq(unwind_reg_lookup(UNWIND_CPU_AMD64, "$rbxx", 4), 3);
    ck_assert_int_eq(unwind_reg_lookup(UNWIND_CPU_AMD64, "$rb", 3), -1);
    ck_assert_int_eq(unwind_reg_lookup(UNWIND_CPU_AMD64, "$", 1), -1);
    ck_assert_int_eq(lookup(UNWIND_CPU_UNKNOWN, "pc"), -1);
}
END_TEST

START_TEST(test_unwind_callee_saved)
{
    ck_assert_uint_eq(unwind_callee_saved(UNWIND_CPU_X86),
                      BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7));
    ck_assert_uint_eq(unwind_callee_saved(UNWIND_CPU_AMD64),
                      BIT(3) | BIT(6) | BIT(7) | BIT(12) | BIT(13) | BIT(14) |
                          BIT(15));
    ck_assert_uint_eq(unwind_callee_saved(UNWIND_CPU_ARM), 0x2ff0);
    ck_assert_uint_eq(unwind_callee_saved(UNWIND_CPU_ARM64), 0xbff80000);
    ck_assert_uint_eq(unwind_callee_saved(UNWIND_CPU_UNKNOWN), 0);
}
END_TEST

START_TEST(test_unwind_read_word)
{
    static struct testmem m = {.base = 0x1000};
    struct unwind_memory mem = testmem_mem(&m);
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        m.buf[0x10 + i] = (uint8_t)(0x11 * (i + 1));
    ck_assert_int_eq(unwind_read_word(&mem, UNWIND_CPU_AMD64, 0x1010, &v), 0);
    ck_assert_uint_eq(v, 0x8877665544332211ull);
    ck_assert_int_eq(unwind_read_word(&mem, UNWIND_CPU_X86, 0x1010, &v), 0);
    ck_assert_uint_eq(v, 0x44332211u);
    ck_assert_int_eq(unwind_read_word(&mem, UNWIND_CPU_X86, 0x1ffd, &v), -1);
    ck_assert_int_eq(unwind_read_word(&mem, UNWIND_CPU_X86, 0x1ffc, &v), 0);
    ck_assert_int_eq(unwind_read_word(&mem, UNWIND_CPU_UNKNOWN, 0x1010, &v),
                     -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("unwind");
    TCase *tc = tcase_create("regs");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_unwind_counts);
    tcase_add_test(tc, test_unwind_names);
    tcase_add_test(tc, test_unwind_lookup);
    tcase_add_test(tc, test_unwind_callee_saved);
    tcase_add_test(tc, test_unwind_read_word);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
