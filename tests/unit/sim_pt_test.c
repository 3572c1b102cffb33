/* SPDX-License-Identifier: MIT */
/*
 * Check suite for the sim GPU's page tables (daemon/dev/sim_pt.c) and the
 * device calls that reach them: PTE contents and permissions, runs
 * (coalescing, breaks at discontiguity, flags, table boundaries, limits),
 * zaps (partial, across tables, giving tables back), remaps, the VA-space
 * edge, and the argument checks of dev_vm_map/zap/submit/open, including
 * the one-port-per-VM rule.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dev/sim_internal.h"

#define PAGE	4096ull
#define MIB	(1024ull * 1024)
#define GIB	(1024ull * MIB)
#define TOP	(1ull << SIM_VA_BITS)
#define W	SIM_PTE_WRITE

static struct sim_pt pt;

static void pt_setup(void)
{
	ck_assert_int_eq(sim_pt_init(&pt), 0);
	ck_assert_uint_eq(pt.tables, 1);
}

static void pt_teardown(void)
{
	sim_pt_fini(&pt);
}

static struct sim_run run_ok(uint64_t va, uint64_t max, bool write)
{
	struct sim_run r;
	uint32_t kind = 99;

	ck_assert_int_eq(sim_pt_run(&pt, va, max, write, &r, &kind), 0);
	ck_assert_uint_eq(kind, 99);
	return r;
}

static uint32_t run_fault(uint64_t va, bool write)
{
	struct sim_run r;
	uint32_t kind = 0;

	ck_assert_int_eq(sim_pt_run(&pt, va, PAGE, write, &r, &kind), -EFAULT);
	return kind;
}

/* ---- map and lookup ---- */

START_TEST(map_sets_ptes)
{
	ck_assert_int_eq(sim_pt_map(&pt, 0x10000, 3 * PAGE, 0xa000000, W), 0);
	ck_assert_uint_eq(sim_pt_lookup(&pt, 0x10000), 0xa000000 | W | SIM_PTE_PRESENT);
	ck_assert_uint_eq(sim_pt_lookup(&pt, 0x12fff), 0xa002000 | W | SIM_PTE_PRESENT);
	ck_assert_uint_eq(sim_pt_lookup(&pt, 0x13000), 0);
	ck_assert_uint_eq(sim_pt_lookup(&pt, 0xf000), 0);
	ck_assert_uint_eq(sim_pt_lookup(&pt, TOP), 0);
	ck_assert_uint_eq(pt.tables, 4);	/* root + 2 dirs + leaf */
}
END_TEST

START_TEST(map_replaces)
{
	ck_assert_int_eq(sim_pt_map(&pt, 0, 4 * PAGE, 0x100000, W), 0);
	ck_assert_int_eq(sim_pt_map(&pt, PAGE, PAGE, 0x900000, SIM_PTE_PORT), 0);
	ck_assert_uint_eq(sim_pt_lookup(&pt, 0), 0x100000 | W | SIM_PTE_PRESENT);
	ck_assert_uint_eq(sim_pt_lookup(&pt, PAGE), 0x900000 | SIM_PTE_PORT | SIM_PTE_PRESENT);
	ck_assert_uint_eq(sim_pt_lookup(&pt, 2 * PAGE), 0x102000 | W | SIM_PTE_PRESENT);
}
END_TEST

START_TEST(map_va_space_edges)
{
	ck_assert_int_eq(sim_pt_map(&pt, TOP - PAGE, PAGE, 0x5000, 0), 0);
	ck_assert_uint_eq(sim_pt_lookup(&pt, TOP - 1), 0x5000 | SIM_PTE_PRESENT);
	ck_assert_int_eq(sim_pt_map(&pt, 0, PAGE, 0x6000, 0), 0);
	ck_assert_uint_eq(sim_pt_lookup(&pt, 0), 0x6000 | SIM_PTE_PRESENT);
	ck_assert_uint_eq(run_ok(TOP - PAGE, 2 * PAGE, false).len, PAGE);
	ck_assert_uint_eq(run_fault(TOP, false), DEV_FAULT_NOT_PRESENT);
	ck_assert_uint_eq(run_fault(UINT64_MAX - 3, false), DEV_FAULT_NOT_PRESENT);
}
END_TEST

/* ---- runs ---- */

START_TEST(run_coalesces_contiguous)
{
	struct sim_run r;

	ck_assert_int_eq(sim_pt_map(&pt, 0x200000 - 2 * PAGE, 4 * PAGE, 0x7000000, W), 0);
	/* Starts mid-page, crosses a leaf table boundary. */
	r = run_ok(0x200000 - 2 * PAGE + 100, 1 * GIB, false);
	ck_assert_uint_eq(r.addr, 0x7000000 + 100);
	ck_assert_uint_eq(r.len, 4 * PAGE - 100);
	ck_assert_uint_eq(r.flags, W | SIM_PTE_PRESENT);
	r = run_ok(0x200000 - 2 * PAGE + 100, 10, true);
	ck_assert_uint_eq(r.len, 10);
}
END_TEST

START_TEST(run_breaks)
{
	struct sim_run r;

	ck_assert_int_eq(sim_pt_map(&pt, 0, 2 * PAGE, 0x10000, W), 0);
	ck_assert_int_eq(sim_pt_map(&pt, 2 * PAGE, PAGE, 0x90000, W), 0);	/* jump */
	ck_assert_int_eq(sim_pt_map(&pt, 3 * PAGE, PAGE, 0x91000, 0), 0);	/* flags */
	ck_assert_int_eq(sim_pt_map(&pt, 4 * PAGE, PAGE, 0x92000, SIM_PTE_PORT), 0);
	r = run_ok(5, 16 * PAGE, false);
	ck_assert_uint_eq(r.len, 2 * PAGE - 5);
	r = run_ok(2 * PAGE, 16 * PAGE, false);
	ck_assert_uint_eq(r.len, PAGE);
	r = run_ok(3 * PAGE, 16 * PAGE, false);
	ck_assert_uint_eq(r.len, PAGE);
	r = run_ok(4 * PAGE, 16 * PAGE, false);
	ck_assert_uint_eq(r.len, PAGE);
	ck_assert_uint_eq(r.flags, SIM_PTE_PORT | SIM_PTE_PRESENT);
	/* Ends before the hole after it. */
	ck_assert_uint_eq(run_fault(5 * PAGE, false), DEV_FAULT_NOT_PRESENT);
}
END_TEST

START_TEST(run_across_directories)
{
	/* 1 GiB boundary (level-2 entry) and a missing leaf table after it. */
	ck_assert_int_eq(sim_pt_map(&pt, GIB - 8 * PAGE, 16 * PAGE, 0x40000000, 0), 0);
	ck_assert_uint_eq(run_ok(GIB - 8 * PAGE, 64 * PAGE, false).len, 16 * PAGE);
	ck_assert_uint_eq(run_ok(GIB, 64 * PAGE, false).addr, 0x40008000);
}
END_TEST

START_TEST(run_permissions)
{
	ck_assert_int_eq(sim_pt_map(&pt, 0, PAGE, 0x1000, 0), 0);
	ck_assert_int_eq(sim_pt_map(&pt, PAGE, PAGE, 0x2000, W), 0);
	run_ok(10, PAGE, false);
	ck_assert_uint_eq(run_fault(10, true), DEV_FAULT_WRITE_RO);
	/* A writable run stops before the read-only page. */
	ck_assert_uint_eq(run_ok(PAGE, 8 * PAGE, true).len, PAGE);
	ck_assert_uint_eq(run_fault(2 * PAGE, true), DEV_FAULT_NOT_PRESENT);
}
END_TEST

/* ---- zap ---- */

START_TEST(zap_partial)
{
	ck_assert_int_eq(sim_pt_map(&pt, 0, 8 * PAGE, 0x100000, W), 0);
	sim_pt_zap(&pt, 2 * PAGE, 3 * PAGE);
	ck_assert_uint_ne(sim_pt_lookup(&pt, PAGE), 0);
	ck_assert_uint_eq(sim_pt_lookup(&pt, 2 * PAGE), 0);
	ck_assert_uint_eq(sim_pt_lookup(&pt, 4 * PAGE), 0);
	ck_assert_uint_eq(sim_pt_lookup(&pt, 5 * PAGE), 0x105000 | W | SIM_PTE_PRESENT);
	ck_assert_uint_eq(run_ok(0, 8 * PAGE, false).len, 2 * PAGE);
	ck_assert_uint_eq(run_fault(3 * PAGE + 7, false), DEV_FAULT_NOT_PRESENT);
}
END_TEST

START_TEST(zap_frees_tables)
{
	ck_assert_int_eq(sim_pt_map(&pt, GIB - 2 * MIB, 6 * MIB, 0x80000000, W), 0);
	ck_assert_uint_eq(pt.tables, 1 + 1 + 2 + 3);	/* root, l2, 2 l1, 3 leaves */
	sim_pt_zap(&pt, GIB - 2 * MIB + PAGE, PAGE);	/* inside a leaf: kept */
	ck_assert_uint_eq(pt.tables, 7);
	sim_pt_zap(&pt, GIB, 2 * MIB);			/* a whole leaf */
	ck_assert_uint_eq(pt.tables, 6);
	ck_assert_uint_ne(sim_pt_lookup(&pt, GIB + 2 * MIB), 0);
	sim_pt_zap(&pt, 0, TOP);
	ck_assert_uint_eq(pt.tables, 1);
	ck_assert_uint_eq(sim_pt_lookup(&pt, GIB - 2 * MIB), 0);
	sim_pt_zap(&pt, 0, TOP);			/* nothing mapped: no-op */
	sim_pt_zap(&pt, TOP - PAGE, 16 * PAGE);		/* clamped at the top */
	ck_assert_uint_eq(pt.tables, 1);
}
END_TEST

START_TEST(zap_then_remap)
{
	ck_assert_int_eq(sim_pt_map(&pt, 0x400000, PAGE, 0x1000, W), 0);
	sim_pt_zap(&pt, 0x400000, PAGE);
	ck_assert_uint_eq(run_fault(0x400000, false), DEV_FAULT_NOT_PRESENT);
	ck_assert_int_eq(sim_pt_map(&pt, 0x400000, PAGE, 0x2000, 0), 0);
	ck_assert_uint_eq(run_ok(0x400000, PAGE, false).addr, 0x2000);
}
END_TEST

/* ---- the device API around them ---- */

static struct dev *d;
static struct dev_vm *vm;
static void *host;

static void dev_setup(void)
{
	ck_assert_int_eq(dev_open(NULL, NULL, &d), 0);
	ck_assert_int_eq(dev_vm_create(d, &vm), 0);
	host = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(host, MAP_FAILED);
}

static void dev_teardown(void)
{
	dev_vm_destroy(vm);
	dev_close(d);
	munmap(host, 4 * PAGE);
}

START_TEST(api_open)
{
	struct dev_config cfg = { .queue_depth = 5000 };
	struct dev *x;

	ck_assert_str_eq(d->caps.backend, "sim");
	ck_assert_uint_eq(d->caps.num_engines, 2);
	ck_assert_uint_eq(d->caps.engine_class[0], DEV_ENGINE_RENDER);
	ck_assert_uint_eq(d->caps.engine_class[1], DEV_ENGINE_COPY);
	ck_assert_uint_eq(d->caps.va_bits, 48);
	ck_assert_uint_eq(d->caps.page_size, 4096);
	ck_assert_uint_eq(d->caps.hang_timeout_ns, DEV_HANG_TIMEOUT_DEFAULT_NS);
	ck_assert(d->caps.features & DEV_FEATURE_PORT);
	ck_assert(d->caps.features & DEV_FEATURE_FAULT_HANDLER);
	ck_assert_int_ge(d->completion_fd, 0);
	ck_assert_ptr_eq(dev_backend_find("sim"), &sim_dev_ops);
	ck_assert_ptr_null(dev_backend_find("nope"));
	ck_assert_int_eq(dev_open("nope", NULL, &x), -ENODEV);
	ck_assert_int_eq(dev_open("", NULL, &x), -ENODEV);
	ck_assert_int_eq(dev_open("sim:extra", NULL, &x), -EINVAL);
	ck_assert_int_eq(dev_open("sim", &cfg, &x), -EINVAL);
	ck_assert_int_eq(dev_open("sim:", NULL, &x), 0);
	dev_close(x);
	dev_close(NULL);
}
END_TEST

START_TEST(api_map_rejects)
{
	struct dev_backing b = { .kind = DEV_BACKING_HOST, .host = host };
	struct dev_backing bad = b;

	ck_assert_int_eq(dev_vm_map(vm, 0, 0, &b, 0), -EINVAL);
	ck_assert_int_eq(dev_vm_map(vm, 100, PAGE, &b, 0), -EINVAL);
	ck_assert_int_eq(dev_vm_map(vm, 0, PAGE + 1, &b, 0), -EINVAL);
	ck_assert_int_eq(dev_vm_map(vm, 0, PAGE, &b, 2), -EINVAL);
	ck_assert_int_eq(dev_vm_map(vm, TOP, PAGE, &b, 0), -EINVAL);
	ck_assert_int_eq(dev_vm_map(vm, TOP - PAGE, 2 * PAGE, &b, 0), -EINVAL);
	ck_assert_int_eq(dev_vm_map(vm, UINT64_MAX - PAGE + 1, PAGE, &b, 0), -EOVERFLOW);
	bad.host = (char *)host + 8;
	ck_assert_int_eq(dev_vm_map(vm, 0, PAGE, &bad, 0), -EINVAL);
	bad.host = NULL;
	ck_assert_int_eq(dev_vm_map(vm, 0, PAGE, &bad, 0), -EINVAL);
	bad.kind = 7;
	ck_assert_int_eq(dev_vm_map(vm, 0, PAGE, &bad, 0), -EINVAL);
	bad.kind = DEV_BACKING_PORT;
	bad.port = NULL;
	ck_assert_int_eq(dev_vm_map(vm, 0, PAGE, &bad, 0), -EINVAL);
	ck_assert_int_eq(dev_vm_map(vm, TOP - 4 * PAGE, 4 * PAGE, &b, DEV_MAP_WRITE), 0);
}
END_TEST

START_TEST(api_zap_rejects)
{
	ck_assert_int_eq(dev_vm_zap(vm, 0, 0), -EINVAL);
	ck_assert_int_eq(dev_vm_zap(vm, 1, PAGE), -EINVAL);
	ck_assert_int_eq(dev_vm_zap(vm, 0, 1), -EINVAL);
	ck_assert_int_eq(dev_vm_zap(vm, TOP, PAGE), -EINVAL);
	ck_assert_int_eq(dev_vm_zap(vm, UINT64_MAX - PAGE + 1, PAGE), -EOVERFLOW);
	ck_assert_int_eq(dev_vm_zap(vm, 0, TOP), 0);
}
END_TEST

START_TEST(api_submit_rejects)
{
	struct dev_submit s = { .vm = vm, .engine = 0, .batch_va = 0, .batch_len = 4 };
	struct dev_vm *other;
	struct dev *d2;
	uint64_t id;

	s.engine = 2;
	ck_assert_int_eq(dev_submit(d, &s, &id), -EINVAL);
	s.engine = 0;
	s.batch_len = 0;
	ck_assert_int_eq(dev_submit(d, &s, &id), -EINVAL);
	s.batch_len = 6;
	ck_assert_int_eq(dev_submit(d, &s, &id), -EINVAL);
	s.batch_len = 4;
	s.batch_va = 2;
	ck_assert_int_eq(dev_submit(d, &s, &id), -EINVAL);
	s.batch_va = TOP - 4;
	s.batch_len = 8;
	ck_assert_int_eq(dev_submit(d, &s, &id), -EINVAL);
	s.vm = NULL;
	ck_assert_int_eq(dev_submit(d, &s, &id), -EINVAL);
	ck_assert_int_eq(dev_open("sim", NULL, &d2), 0);
	ck_assert_int_eq(dev_vm_create(d2, &other), 0);
	s.vm = other;
	s.batch_va = 0;
	ck_assert_int_eq(dev_submit(d, &s, &id), -EINVAL);	/* VM of another device */
	dev_vm_destroy(other);
	dev_close(d2);
}
END_TEST

static int no_fault(struct dev_vm *v, void *priv, const struct dev_fault *f)
{
	return -EFAULT;
}

START_TEST(api_one_port_per_vm)
{
	struct dma_port *p1, *p2;
	struct dev_backing b = { .kind = DEV_BACKING_PORT, .addr = (uintptr_t)host };

	ck_assert_int_eq(dma_port_open(getpid(), -1, NULL, &p1), 0);
	ck_assert_int_eq(dma_port_open(getpid(), -1, NULL, &p2), 0);
	b.port = p1;
	ck_assert_int_eq(dev_vm_map(vm, 0, PAGE, &b, 0), 0);
	ck_assert_int_eq(dev_vm_map(vm, PAGE, PAGE, &b, DEV_MAP_WRITE), 0);
	b.port = p2;
	ck_assert_int_eq(dev_vm_map(vm, 2 * PAGE, PAGE, &b, 0), -EBUSY);
	b.addr = (uintptr_t)host + 1;
	ck_assert_int_eq(dev_vm_map(vm, 2 * PAGE, PAGE, &b, 0), -EINVAL);
	b.addr = UINT64_MAX & ~(PAGE - 1);
	ck_assert_int_eq(dev_vm_map(vm, 2 * PAGE, 2 * PAGE, &b, 0), -EOVERFLOW);
	ck_assert_int_eq(dev_vm_set_fault_handler(vm, no_fault, NULL), 0);
	ck_assert_int_eq(dev_vm_set_fault_handler(vm, NULL, NULL), 0);
	/* The VM holds its own reference: dropping ours early is fine. */
	dma_port_put(p1);
	dma_port_put(p2);
}
END_TEST

static Suite *sim_pt_suite(void)
{
	Suite *s = suite_create("sim_pt");
	TCase *tc;

	tc = tcase_create("map");
	tcase_set_timeout(tc, 5);
	tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
	tcase_add_test(tc, map_sets_ptes);
	tcase_add_test(tc, map_replaces);
	tcase_add_test(tc, map_va_space_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("runs");
	tcase_set_timeout(tc, 5);
	tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
	tcase_add_test(tc, run_coalesces_contiguous);
	tcase_add_test(tc, run_breaks);
	tcase_add_test(tc, run_across_directories);
	tcase_add_test(tc, run_permissions);
	suite_add_tcase(s, tc);

	tc = tcase_create("zap");
	tcase_set_timeout(tc, 5);
	tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
	tcase_add_test(tc, zap_partial);
	tcase_add_test(tc, zap_frees_tables);
	tcase_add_test(tc, zap_then_remap);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, dev_setup, dev_teardown);
	tcase_add_test(tc, api_open);
	tcase_add_test(tc, api_map_rejects);
	tcase_add_test(tc, api_zap_rejects);
	tcase_add_test(tc, api_submit_rejects);
	tcase_add_test(tc, api_one_port_per_vm);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sim_pt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
