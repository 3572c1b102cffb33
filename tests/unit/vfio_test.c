/* SPDX-License-Identifier: MIT */
/*
 * Check suite for what of the VFIO layer (daemon/dev/vfio*.c) and the
 * edu backend runs without VFIO: the IOVA allocator (windows, splits,
 * merges, double frees, a randomized run against a page bitmap with a
 * fixed seed), the VFIO_IOMMU_GET_INFO capability-chain parser on
 * hand-built replies (good, truncated, looping), PCI address parsing,
 * the sysfs group and driver lookup against a fake sysfs tree in a
 * temporary directory, region bounds checks, the edu backend's argument
 * checks, and the edu backend's page-table hash. The hardware path
 * itself is tested in a QEMU guest by `make check-hw` (tests/hw).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev/dev.h"
#include "dev/edu_internal.h"
#include "dev/vfio.h"

#define PAGE	4096ull
#define GIB	(1ull << 30)

/* ---- IOVA allocator ---- */

static struct vfio_iova a;

static void iova_teardown(void)
{
	vfio_iova_fini(&a);
}

START_TEST(iova_init_shrinks_and_skips_zero)
{
	struct vfio_range r[] = {
		{ 0xfef00000, 0x7fffffffff }, { 0, 0xfedfffff }, { 0x8000000010, 0x8000000fff },
	};

	ck_assert_int_eq(vfio_iova_init(&a, r, 3), 0);
	ck_assert_uint_eq(a.nranges, 2);	/* the third holds no whole page */
	ck_assert_uint_eq(a.ranges[0].start, PAGE);
	ck_assert_uint_eq(a.ranges[0].last, 0xfedfffff);
	ck_assert_uint_eq(a.ranges[1].start, 0xfef00000);
	ck_assert_uint_eq(a.free_bytes, 0xfedfffffull + 1 - PAGE + 0x7fffffffffull + 1 - 0xfef00000);
}
END_TEST

START_TEST(iova_init_rejects)
{
	struct vfio_range inv = { 10 * PAGE, PAGE }, tiny = { 100, 200 };
	struct vfio_range ov[] = { { PAGE, 10 * PAGE - 1 }, { 5 * PAGE, 20 * PAGE - 1 } };
	struct vfio_range many[VFIO_MAX_IOVA_RANGES + 1];

	for (unsigned int i = 0; i <= VFIO_MAX_IOVA_RANGES; i++)
		many[i] = (struct vfio_range){ (i + 1) * 16 * PAGE, (i + 1) * 16 * PAGE + PAGE - 1 };
	ck_assert_int_eq(vfio_iova_init(&a, &inv, 1), -EINVAL);
	ck_assert_int_eq(vfio_iova_init(&a, ov, 2), -EINVAL);
	ck_assert_int_eq(vfio_iova_init(&a, &tiny, 1), -ENOSPC);
	ck_assert_int_eq(vfio_iova_init(&a, NULL, 0), -EINVAL);
	ck_assert_int_eq(vfio_iova_init(&a, many, VFIO_MAX_IOVA_RANGES + 1), -EINVAL);
}
END_TEST

START_TEST(iova_full_space)
{
	struct vfio_range all = { 0, UINT64_MAX };
	uint64_t iova;

	ck_assert_int_eq(vfio_iova_init(&a, &all, 1), 0);
	ck_assert_uint_eq(a.ranges[0].last, UINT64_MAX);
	ck_assert_int_eq(vfio_iova_alloc(&a, PAGE, UINT64_MAX - PAGE + 1, UINT64_MAX, &iova), 0);
	ck_assert_uint_eq(iova, UINT64_MAX - PAGE + 1);
	ck_assert_int_eq(vfio_iova_free(&a, iova, PAGE), 0);
	ck_assert_uint_eq(a.nfree, 1);
}
END_TEST

START_TEST(iova_alloc_window_and_split)
{
	struct vfio_range r = { 0, 64 * PAGE - 1 };
	uint64_t x, y, z;

	ck_assert_int_eq(vfio_iova_init(&a, &r, 1), 0);
	ck_assert_int_eq(vfio_iova_alloc(&a, 2 * PAGE, 0, UINT64_MAX, &x), 0);
	ck_assert_uint_eq(x, PAGE);
	/* A window in the middle splits the free extent in two. */
	ck_assert_int_eq(vfio_iova_alloc(&a, PAGE, 10 * PAGE + 1, UINT64_MAX, &y), 0);
	ck_assert_uint_eq(y, 11 * PAGE);
	ck_assert_uint_eq(a.nfree, 2);
	ck_assert_int_eq(vfio_iova_alloc(&a, 8 * PAGE, 0, 10 * PAGE - 1, &z), -ENOSPC);
	ck_assert_int_eq(vfio_iova_alloc(&a, 7 * PAGE, 0, 10 * PAGE - 1, &z), 0);
	ck_assert_uint_eq(z, 3 * PAGE);
	ck_assert_int_eq(vfio_iova_alloc(&a, 0, 0, UINT64_MAX, &z), -EINVAL);
	ck_assert_int_eq(vfio_iova_alloc(&a, 100, 0, UINT64_MAX, &z), -EINVAL);
	ck_assert_int_eq(vfio_iova_alloc(&a, PAGE, 5 * PAGE, PAGE, &z), -EINVAL);
	ck_assert_int_eq(vfio_iova_alloc(&a, 64 * PAGE, 0, UINT64_MAX, &z), -ENOSPC);
}
END_TEST

START_TEST(iova_free_merges_and_refuses)
{
	struct vfio_range r = { PAGE, 17 * PAGE - 1 };
	uint64_t x[4];

	ck_assert_int_eq(vfio_iova_init(&a, &r, 1), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(vfio_iova_alloc(&a, 4 * PAGE, 0, UINT64_MAX, &x[i]), 0);
	ck_assert_uint_eq(a.nfree, 0);
	ck_assert_int_eq(vfio_iova_free(&a, x[1], 4 * PAGE), 0);
	ck_assert_int_eq(vfio_iova_free(&a, x[3], 4 * PAGE), 0);
	ck_assert_uint_eq(a.nfree, 2);
	ck_assert_int_eq(vfio_iova_free(&a, x[1], 4 * PAGE), -EINVAL);	/* double free */
	ck_assert_int_eq(vfio_iova_free(&a, x[1] + PAGE, PAGE), -EINVAL);	/* inside free */
	ck_assert_int_eq(vfio_iova_free(&a, 0, PAGE), -EINVAL);	/* outside the ranges */
	ck_assert_int_eq(vfio_iova_free(&a, 17 * PAGE, PAGE), -EINVAL);
	ck_assert_int_eq(vfio_iova_free(&a, x[0] + 1, PAGE), -EINVAL);	/* misaligned */
	ck_assert_int_eq(vfio_iova_free(&a, x[2], 4 * PAGE), 0);	/* merges both sides */
	ck_assert_uint_eq(a.nfree, 1);
	ck_assert_int_eq(vfio_iova_free(&a, x[0], 4 * PAGE), 0);
	ck_assert_uint_eq(a.nfree, 1);
	ck_assert_uint_eq(a.free[0].start, PAGE);
	ck_assert_uint_eq(a.free[0].last, 17 * PAGE - 1);
	ck_assert_uint_eq(a.free_bytes, 16 * PAGE);
}
END_TEST

/* Random allocations and frees checked against a bitmap of pages. */
START_TEST(iova_random_vs_bitmap)
{
	enum { PAGES = 512, LIVE = 64 };
	struct vfio_range r[] = { { 0, 200 * PAGE - 1 }, { 260 * PAGE, PAGES * PAGE - 1 } };
	struct { uint64_t iova, n; } live[LIVE] = { { 0, 0 } };
	bool used[PAGES] = { false };
	unsigned int seed = 12345;

	ck_assert_int_eq(vfio_iova_init(&a, r, 2), 0);
	for (int step = 0; step < 20000; step++) {
		int i = rand_r(&seed) % LIVE;

		if (live[i].n) {
			ck_assert_int_eq(vfio_iova_free(&a, live[i].iova, live[i].n * PAGE), 0);
			for (uint64_t p = 0; p < live[i].n; p++)
				used[live[i].iova / PAGE + p] = false;
			live[i].n = 0;
		} else {
			uint64_t n = 1 + rand_r(&seed) % 8, lo = (rand_r(&seed) % 2) * 300 * PAGE;
			uint64_t iova, run = 0, fits = 0;
			int ret = vfio_iova_alloc(&a, n * PAGE, lo, UINT64_MAX, &iova);

			/* Brute force: is there a free run of n pages at or above lo? */
			for (uint64_t p = lo / PAGE; p < PAGES; p++) {
				bool ok = p && !used[p] && !(p >= 200 && p < 260);

				run = ok ? run + 1 : 0;
				if (run >= n)
					fits = 1;
			}
			ck_assert_int_eq(ret, fits ? 0 : -ENOSPC);
			if (ret)
				continue;
			ck_assert_uint_ge(iova, lo);
			for (uint64_t p = 0; p < n; p++) {
				uint64_t pg = iova / PAGE + p;

				ck_assert(pg && pg < PAGES && !(pg >= 200 && pg < 260));
				ck_assert(!used[pg]);
				used[pg] = true;
			}
			live[i].iova = iova;
			live[i].n = n;
		}
		/* Invariants: sorted, disjoint, never adjacent, sizes add up. */
		uint64_t sum = 0;
		for (unsigned int k = 0; k < a.nfree; k++) {
			ck_assert_uint_le(a.free[k].start, a.free[k].last);
			if (k)
				ck_assert_uint_gt(a.free[k].start, a.free[k - 1].last + 1);
			sum += a.free[k].last - a.free[k].start + 1;
		}
		ck_assert_uint_eq(sum, a.free_bytes);
	}
}
END_TEST

/* ---- VFIO_IOMMU_GET_INFO parsing ---- */

struct info_buf {
	struct vfio_iommu_type1_info hdr;
	uint8_t pad[8];
	struct vfio_info_cap_header other;	/* some other cap first */
	uint32_t other_data;
	uint32_t pad2;
	struct vfio_iommu_type1_info_cap_iova_range cap;
	struct vfio_iova_range r[2];
};

static void build_info(struct info_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->hdr.argsz = sizeof(*b);
	b->hdr.flags = VFIO_IOMMU_INFO_CAPS | VFIO_IOMMU_INFO_PGSIZES;
	b->hdr.cap_offset = offsetof(struct info_buf, other);
	b->other.id = 99;
	b->other.version = 1;
	b->other.next = offsetof(struct info_buf, cap);
	b->cap.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
	b->cap.header.version = 1;
	b->cap.nr_iovas = 2;
	b->r[0] = (struct vfio_iova_range){ 0, 0xfedfffff };
	b->r[1] = (struct vfio_iova_range){ 0xfef00000, 0x7fffffffff };
}

START_TEST(parse_ranges)
{
	struct vfio_range out[4];
	struct info_buf b;

	build_info(&b);
	ck_assert_int_eq(vfio_parse_iova_ranges(&b, sizeof(b), out, 4), 2);
	ck_assert_uint_eq(out[0].last, 0xfedfffff);
	ck_assert_uint_eq(out[1].start, 0xfef00000);
	ck_assert_uint_eq(out[1].last, 0x7fffffffff);
	ck_assert_int_eq(vfio_parse_iova_ranges(&b, sizeof(b), out, 1), -E2BIG);
	/* No caps at all: 0 ranges (the whole space). */
	b.hdr.flags = 0;
	ck_assert_int_eq(vfio_parse_iova_ranges(&b, sizeof(b), out, 4), 0);
}
END_TEST

START_TEST(parse_rejects_malformed)
{
	struct vfio_range out[4];
	struct info_buf b;

	build_info(&b);
	ck_assert_int_eq(vfio_parse_iova_ranges(&b, sizeof(b) - 8, out, 4), -EINVAL);
	ck_assert_int_eq(vfio_parse_iova_ranges(&b, 8, out, 4), -EINVAL);
	b.other.next = b.hdr.cap_offset;	/* a loop */
	ck_assert_int_eq(vfio_parse_iova_ranges(&b, sizeof(b), out, 4), -EINVAL);
	build_info(&b);
	b.hdr.cap_offset = sizeof(b) + 100;	/* past the end */
	ck_assert_int_eq(vfio_parse_iova_ranges(&b, sizeof(b), out, 4), -EINVAL);
	build_info(&b);
	b.hdr.cap_offset = 4;	/* inside the fixed part */
	ck_assert_int_eq(vfio_parse_iova_ranges(&b, sizeof(b), out, 4), -EINVAL);
	build_info(&b);
	b.r[1].start = b.r[1].end + 1;	/* inverted range */
	ck_assert_int_eq(vfio_parse_iova_ranges(&b, sizeof(b), out, 4), -EINVAL);
	build_info(&b);
	b.cap.nr_iovas = 1000000;	/* more than the reply holds */
	ck_assert_int_eq(vfio_parse_iova_ranges(&b, sizeof(b), out, 4), -EINVAL);
}
END_TEST

/* ---- PCI addresses and sysfs ---- */

START_TEST(bdf_forms)
{
	char out[VFIO_BDF_LEN];

	ck_assert_int_eq(vfio_bdf_parse("0000:00:03.0", out), 0);
	ck_assert_str_eq(out, "0000:00:03.0");
	ck_assert_int_eq(vfio_bdf_parse("01:1F.7", out), 0);
	ck_assert_str_eq(out, "0000:01:1f.7");
	ck_assert_int_eq(vfio_bdf_parse("ABCD:ff:00.1", out), 0);
	ck_assert_str_eq(out, "abcd:ff:00.1");
	ck_assert_int_eq(vfio_bdf_parse("0000:00:20.0", out), -EINVAL);	/* device > 31 */
	ck_assert_int_eq(vfio_bdf_parse("0000:00:03.8", out), -EINVAL);	/* function > 7 */
	ck_assert_int_eq(vfio_bdf_parse("0000:00:03.0x", out), -EINVAL);
	ck_assert_int_eq(vfio_bdf_parse("0000-00:03.0", out), -EINVAL);
	ck_assert_int_eq(vfio_bdf_parse("00:3.0", out), -EINVAL);
	ck_assert_int_eq(vfio_bdf_parse("../../etc", out), -EINVAL);
	ck_assert_int_eq(vfio_bdf_parse("", out), -EINVAL);
	ck_assert_int_eq(vfio_bdf_parse(NULL, out), -EINVAL);
}
END_TEST

static char root[PATH_MAX];

static void mkpath(const char *fmt, const char *arg)
{
	char p[PATH_MAX * 2], cmd[PATH_MAX * 3];

	snprintf(p, sizeof(p), fmt, root, arg);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", p);
	ck_assert_int_eq(system(cmd), 0);
}

static void mklink(const char *target, const char *bdf, const char *name)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/%s", root, bdf, name);
	ck_assert_int_eq(symlink(target, p), 0);
}

/* A fake sysfs: three devices, one in group 7 on vfio-pci, one without a
 * group or driver, one whose group link is not a number. */
static void sysfs_setup(void)
{
	snprintf(root, sizeof(root), "/tmp/vfio_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	mkpath("%s/bus/pci/devices/%s", "0000:00:03.0");
	mkpath("%s/bus/pci/devices/%s", "0000:00:04.0");
	mkpath("%s/bus/pci/devices/%s", "0000:00:05.0");
	mkpath("%s/kernel/iommu_groups/%s", "7");
	mklink("../../../kernel/iommu_groups/7", "0000:00:03.0", "iommu_group");
	mklink("../../../bus/pci/drivers/vfio-pci", "0000:00:03.0", "driver");
	mklink("../../../kernel/iommu_groups/seven", "0000:00:05.0", "iommu_group");
}

static void sysfs_teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(sysfs_group_lookup)
{
	char drv[32];
	int g = -1;

	ck_assert_int_eq(vfio_sysfs_group(root, "0000:00:03.0", &g), 0);
	ck_assert_int_eq(g, 7);
	ck_assert_int_eq(vfio_sysfs_driver(root, "0000:00:03.0", drv, sizeof(drv)), 0);
	ck_assert_str_eq(drv, "vfio-pci");
	ck_assert_int_eq(vfio_sysfs_driver(root, "0000:00:03.0", drv, 4), -ENAMETOOLONG);
	ck_assert_int_eq(vfio_sysfs_group(root, "0000:00:04.0", &g), -ENOENT);
	ck_assert_int_eq(vfio_sysfs_driver(root, "0000:00:04.0", drv, sizeof(drv)), -ENOENT);
	ck_assert_int_eq(vfio_sysfs_group(root, "0000:00:05.0", &g), -EINVAL);
	ck_assert_int_eq(vfio_sysfs_group(root, "0000:00:06.0", &g), -ENODEV);
	ck_assert_int_eq(vfio_sysfs_driver(root, "0000:00:06.0", drv, sizeof(drv)), -ENODEV);
}
END_TEST

START_TEST(open_without_group)
{
	struct vfio_dev *v = NULL;

	ck_assert_int_eq(vfio_open(root, "00:04.0", &v), -ENOENT);
	ck_assert_int_eq(vfio_open(root, "00:06.0", &v), -ENODEV);
	ck_assert_int_eq(vfio_open(root, "zz", &v), -EINVAL);
	ck_assert_ptr_null(v);
}
END_TEST

/* ---- regions ---- */

START_TEST(region_bounds)
{
	struct vfio_region r = { .size = 1 << 20,
				 .flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP };
	struct vfio_region none = { 0 };

	ck_assert_int_eq(vfio_region_check(&r, 0, 4, VFIO_REGION_INFO_FLAG_READ), 0);
	ck_assert_int_eq(vfio_region_check(&r, (1 << 20) - 4, 4, VFIO_REGION_INFO_FLAG_READ), 0);
	ck_assert_int_eq(vfio_region_check(&r, (1 << 20) - 2, 4, VFIO_REGION_INFO_FLAG_READ), -EINVAL);
	ck_assert_int_eq(vfio_region_check(&r, 1 << 20, 1, VFIO_REGION_INFO_FLAG_READ), -EINVAL);
	ck_assert_int_eq(vfio_region_check(&r, 0, 0, VFIO_REGION_INFO_FLAG_READ), -EINVAL);
	ck_assert_int_eq(vfio_region_check(&r, UINT64_MAX - 1, 4, 0), -EINVAL);
	ck_assert_int_eq(vfio_region_check(&r, 0, 4, VFIO_REGION_INFO_FLAG_WRITE), -EACCES);
	ck_assert_int_eq(vfio_region_check(&none, 0, 4, 0), -ENOENT);
}
END_TEST

/* ---- the edu backend without a device ---- */

START_TEST(edu_open_arguments)
{
	struct dev *d = NULL;

	ck_assert_ptr_nonnull(dev_backend_find("edu"));
	ck_assert_int_eq(dev_open("edu", NULL, &d), -EINVAL);
	ck_assert_int_eq(dev_open("edu:", NULL, &d), -EINVAL);
	ck_assert_int_eq(dev_open("edu:0000:00:03.0,dma_bits=8", NULL, &d), -EINVAL);
	ck_assert_int_eq(dev_open("edu:0000:00:03.0,dma_bits=65", NULL, &d), -EINVAL);
	ck_assert_int_eq(dev_open("edu:0000:00:03.0,pool=0", NULL, &d), -EINVAL);
	ck_assert_int_eq(dev_open("edu:0000:00:03.0,bogus=1", NULL, &d), -EINVAL);
	ck_assert_int_eq(dev_open("edu:not-an-address", NULL, &d), -EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_uint_eq(edu_lost_writes(NULL), 0);
}
END_TEST

START_TEST(edu_pt_hash)
{
	struct edu_pt pt = { 0 };
	unsigned int seed = 7;
	enum { N = 3000 };
	static uint64_t ref[N];	/* page i -> pte or 0 */

	memset(ref, 0, sizeof(ref));
	ck_assert_uint_eq(edu_pt_get(&pt, 0), 0);
	ck_assert_uint_eq(edu_pt_del(&pt, 0), 0);
	for (int step = 0; step < 50000; step++) {
		uint64_t i = rand_r(&seed) % N, va = i * PAGE * 513;	/* spread over tables */

		if (rand_r(&seed) % 3) {
			uint64_t pte = ((uint64_t)rand_r(&seed) << 12) | EDU_PTE_PRESENT;

			ck_assert_int_eq(edu_pt_reserve(&pt, 1), 0);
			ck_assert_uint_eq(edu_pt_set(&pt, va, pte), ref[i]);
			ref[i] = pte;
		} else {
			ck_assert_uint_eq(edu_pt_del(&pt, va), ref[i]);
			ref[i] = 0;
		}
		if (step % 5000 == 0) {
			uint64_t count = 0;

			for (uint64_t k = 0; k < N; k++) {
				ck_assert_uint_eq(edu_pt_get(&pt, k * PAGE * 513), ref[k]);
				count += !!ref[k];
			}
			ck_assert_uint_eq(pt.count, count);
			ck_assert_uint_le(pt.count * 2, pt.cap);
		}
	}
	edu_pt_fini(&pt);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vfio");
	TCase *tc_iova = tcase_create("iova");
	TCase *tc_parse = tcase_create("iommu_info");
	TCase *tc_sysfs = tcase_create("sysfs");
	TCase *tc_misc = tcase_create("regions_and_edu");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc_iova, 30);
	tcase_add_checked_fixture(tc_iova, NULL, iova_teardown);
	tcase_add_test(tc_iova, iova_init_shrinks_and_skips_zero);
	tcase_add_test(tc_iova, iova_init_rejects);
	tcase_add_test(tc_iova, iova_full_space);
	tcase_add_test(tc_iova, iova_alloc_window_and_split);
	tcase_add_test(tc_iova, iova_free_merges_and_refuses);
	tcase_add_test(tc_iova, iova_random_vs_bitmap);
	suite_add_tcase(s, tc_iova);

	tcase_set_timeout(tc_parse, 10);
	tcase_add_test(tc_parse, parse_ranges);
	tcase_add_test(tc_parse, parse_rejects_malformed);
	suite_add_tcase(s, tc_parse);

	tcase_set_timeout(tc_sysfs, 10);
	tcase_add_test(tc_sysfs, bdf_forms);
	tcase_add_checked_fixture(tc_sysfs, sysfs_setup, sysfs_teardown);
	tcase_add_test(tc_sysfs, sysfs_group_lookup);
	tcase_add_test(tc_sysfs, open_without_group);
	suite_add_tcase(s, tc_sysfs);

	tcase_set_timeout(tc_misc, 30);
	tcase_add_test(tc_misc, region_bounds);
	tcase_add_test(tc_misc, edu_open_arguments);
	tcase_add_test(tc_misc, edu_pt_hash);
	suite_add_tcase(s, tc_misc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
