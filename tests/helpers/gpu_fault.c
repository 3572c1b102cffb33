// SPDX-License-Identifier: MIT
/*
 * gpu_fault: a client of ugpud for the driver core's faults
 * (tests/integration/gpu_test.c runs it): in a fault-mode VM a job
 * whose page the client replaced or unmapped while it waited resolves
 * the fault against the new page or faults, in a normal VM it faults
 * (fault-replace, nofault-replace, fault-unmap); and the client's own
 * page protections, on private memory or shared host memory (readonly,
 * readonly-shared): a store into memory the client made read-only or
 * PROT_NONE, or bound READONLY, faults and changes nothing, and the VM
 * goes on running jobs. Usage `gpu_fault <scenario> <device>`; output
 * and exit status as tests/helpers/lib/client_common.h says.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/client_common.h"
#include "uapi/ugpu.h"

/* ---- 2. fault mode ---------------------------------------------------- */

enum fault_case { FC_FAULT_REPLACE, FC_NOFAULT_REPLACE, FC_FAULT_UNMAP };

static void scenario_fault(const char *path, enum fault_case fc)
{
	static const char *const names[] = { "fault-replace", "nofault-replace",
					     "fault-unmap" };
	const char *n = names[fc];
	char check[160];
	uint32_t vm_flags = fc == FC_NOFAULT_REPLACE ? 0 : UGPU_VM_FAULT_MODE;
	struct ugpu_cmdbuf cb;
	uint8_t *buf, *page;
	uint64_t fence;
	struct cc_ctx c;
	int ret;

	if (!cc_ctx_open_ok(&c, path, vm_flags, n))
		return;
	if (vm_flags) {
		snprintf(check, sizeof(check), "%s: device reports fault mode", n);
		cc_expect(c.features & UGPU_FEATURE_FAULT_MODE, check, "features %#" PRIx64,
			  c.features);
	}
	buf = cc_map_anon(4 * PAGE);
	if (!buf) {
		cc_expect(false, "map", "mmap");
		goto out;
	}
	memset(buf, 0x11, 4 * PAGE);
	snprintf(check, sizeof(check), "%s: bind private memory", n);
	if (!cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, 4 * PAGE, 0), 0, check))
		goto out_unmap;

	cc_batch_gated(&c, 0, &cb, CTL_STARTED);
	ugpu_cmd_store_dword(&cb, VA_UP + PAGE + 8, 0xfa17);
	ret = cc_submit(&c, 0, &cb, 0, &fence);
	snprintf(check, sizeof(check), "%s: exec store-behind-semaphore", n);
	if (!cc_expect_ret(ret, 0, check))
		goto out_unmap;
	snprintf(check, sizeof(check), "%s: job waits on the semaphore", n);
	if (!cc_expect(cc_poll_u32(&c.ctl[CTL_STARTED], 1), check, "never started")) {
		cc_ctl_set(&c, CTL_SEM, 1);
		goto out_unmap;
	}

	page = buf + PAGE;
	if (fc == FC_FAULT_UNMAP) {
		ret = munmap(page, PAGE) ? -errno : 0;
	} else {
		void *p = mmap(page, PAGE, PROT_READ | PROT_WRITE,
			       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ret = p == MAP_FAILED ? -errno : 0;
		if (!ret)
			memset(page, 0x22, PAGE);
	}
	snprintf(check, sizeof(check), "%s: client replaces/unmaps the target page", n);
	cc_expect_ret(ret, 0, check);
	cc_ctl_set(&c, CTL_SEM, 1);
	ret = ugpu_wait(c.dev, fence, WAIT_NS);

	switch (fc) {
	case FC_FAULT_REPLACE:
		cc_expect_ret(ret, 0, "fault-replace: job resolves the fault and completes");
		cc_expect(((uint32_t *)page)[2] == 0xfa17,
			  "fault-replace: the store is in the NEW page", "dword %#x",
			  ((uint32_t *)page)[2]);
		((uint32_t *)page)[2] = 0x22222222;
		cc_expect_all(page, PAGE, 0x22222222,
			      "fault-replace: nothing else of the new page changed");
		break;
	case FC_NOFAULT_REPLACE:
		cc_expect_ret(ret, -EFAULT, "nofault-replace: the job faults (-EFAULT)");
		cc_expect_all(page, PAGE, 0x22222222, "nofault-replace: the new page is unchanged");
		/* The binding follows the virtual range: the next exec sees it. */
		cc_expect_ret(cc_run_store(&c, 1, VA_UP + PAGE + 12, 0x1234), 0,
			      "nofault-replace: a new exec stores into the new page");
		cc_expect(((uint32_t *)page)[3] == 0x1234,
			  "nofault-replace: ... and it is visible", "dword %#x",
			  ((uint32_t *)page)[3]);
		break;
	case FC_FAULT_UNMAP:
		cc_expect_ret(ret, -EFAULT, "fault-unmap: a store into unmapped memory faults");
		/* The rest of the binding still works in fault mode. */
		cc_expect_ret(cc_run_store(&c, 1, VA_UP + 8, 0x77), 0,
			      "fault-unmap: a store into a mapped page of it still works");
		cc_expect(((uint32_t *)buf)[2] == 0x77, "fault-unmap: ... and is visible",
			  "dword %#x", ((uint32_t *)buf)[2]);
		cc_expect_ret(cc_run_store(&c, 2, VA_UP + PAGE, 0x78), -EFAULT,
			      "fault-unmap: the unmapped page still faults");
		break;
	}
out_unmap:
	munmap(buf, 4 * PAGE);
out:
	cc_ctx_close(&c);
}

/* ---- 8. the client's own protections ----------------------------------- */

static void scenario_readonly(const char *path, bool shared)
{
	const char *n = shared ? "ro-shared" : "ro-private";
	char check[160];
	struct cc_ctx c;
	uint32_t *buf;

	if (!cc_ctx_open_ok(&c, path, 0, n))
		return;
	buf = shared ? ugpu_host_alloc(c.dev, 2 * PAGE) : cc_map_anon(2 * PAGE);
	if (!buf) {
		cc_expect(false, n, "allocation failed");
		goto out;
	}
	memset(buf, 0x33, 2 * PAGE);
	snprintf(check, sizeof(check), "%s: bind (writable)", n);
	if (!cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, 2 * PAGE, 0), 0, check))
		goto out_free;
	snprintf(check, sizeof(check), "%s: a store works while writable", n);
	cc_expect_ret(cc_run_store(&c, 0, VA_UP, 0x1111), 0, check);
	snprintf(check, sizeof(check), "%s: ... and landed", n);
	cc_expect(buf[0] == 0x1111, check, "got %#x", buf[0]);

	snprintf(check, sizeof(check), "%s: mprotect PROT_READ", n);
	cc_expect_ret(mprotect(buf, 2 * PAGE, PROT_READ) ? -errno : 0, 0, check);
	snprintf(check, sizeof(check), "%s: a store into read-only memory faults", n);
	cc_expect_ret(cc_run_store(&c, 1, VA_UP + PAGE + 8, 0xdead), -EFAULT, check);
	snprintf(check, sizeof(check), "%s: ... and the memory is unchanged", n);
	cc_expect_all(buf + PAGE / 4, PAGE, 0x33333333, check);
	snprintf(check, sizeof(check), "%s: the VM still runs jobs after the fault", n);
	cc_expect_ret(cc_run_store(&c, 2, VA_CTL + CTL_OUT * 4, 1), 0, check);
	snprintf(check, sizeof(check), "%s: reading read-only memory still works", n);
	{
		struct ugpu_cmdbuf cb;
		uint64_t fence;
		int ret;

		cc_batch(&c, 3, &cb);
		ugpu_cmd_copy(&cb, VA_CTL + (CTL_OUT + 4) * 4, VA_UP + PAGE, 8);
		ret = cc_submit(&c, 3, &cb, 0, &fence);
		if (!ret)
			ret = ugpu_wait(c.dev, fence, WAIT_NS);
		cc_expect(!ret && c.ctl[CTL_OUT + 4] == 0x33333333, check, "ret %d value %#x",
			  ret, c.ctl[CTL_OUT + 4]);
	}

	snprintf(check, sizeof(check), "%s: mprotect PROT_READ|PROT_WRITE", n);
	cc_expect_ret(mprotect(buf, 2 * PAGE, PROT_READ | PROT_WRITE) ? -errno : 0, 0, check);
	snprintf(check, sizeof(check), "%s: the store works again", n);
	cc_expect_ret(cc_run_store(&c, 4, VA_UP + PAGE + 8, 0xbeef), 0, check);
	snprintf(check, sizeof(check), "%s: ... and landed", n);
	cc_expect(buf[PAGE / 4 + 2] == 0xbeef, check, "got %#x", buf[PAGE / 4 + 2]);

	snprintf(check, sizeof(check), "%s: mprotect PROT_NONE", n);
	cc_expect_ret(mprotect(buf, 2 * PAGE, PROT_NONE) ? -errno : 0, 0, check);
	snprintf(check, sizeof(check), "%s: a store into PROT_NONE memory faults", n);
	cc_expect_ret(cc_run_store(&c, 5, VA_UP + 16, 0xdead), -EFAULT, check);
	mprotect(buf, 2 * PAGE, PROT_READ | PROT_WRITE);
	snprintf(check, sizeof(check), "%s: ... and the memory is unchanged", n);
	cc_expect(buf[4] == 0x33333333, check, "got %#x", buf[4]);

	/* The bind flag, for comparison: the same range, READONLY. */
	snprintf(check, sizeof(check), "%s: bind the range READONLY elsewhere", n);
	if (cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP2, buf, 2 * PAGE,
					       UGPU_BIND_READONLY), 0, check)) {
		snprintf(check, sizeof(check), "%s: a store through READONLY faults", n);
		cc_expect_ret(cc_run_store(&c, 6, VA_UP2 + 20, 0xdead), -EFAULT, check);
		snprintf(check, sizeof(check), "%s: ... and the memory is unchanged", n);
		cc_expect(buf[5] == 0x33333333, check, "got %#x", buf[5]);
	}
out_free:
	if (shared)
		ugpu_host_free(c.dev, buf, 2 * PAGE);
	else
		munmap(buf, 2 * PAGE);
out:
	cc_ctx_close(&c);
}

static void fault_replace(const char *p) { scenario_fault(p, FC_FAULT_REPLACE); }
static void nofault_replace(const char *p) { scenario_fault(p, FC_NOFAULT_REPLACE); }
static void fault_unmap(const char *p) { scenario_fault(p, FC_FAULT_UNMAP); }
static void ro_private(const char *p) { scenario_readonly(p, false); }
static void ro_shared(const char *p) { scenario_readonly(p, true); }

/* ---- main ------------------------------------------------------------- */

static const struct cc_scenario scenarios[] = {
	{ "fault-replace", fault_replace },
	{ "nofault-replace", nofault_replace },
	{ "fault-unmap", fault_unmap },
	{ "readonly", ro_private },
	{ "readonly-shared", ro_shared },
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return cc_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
