// SPDX-License-Identifier: MIT
/*
 * libugpu calls: open/close (with the userfaultfd hand-over), query, VMs,
 * BOs, host memory, binds, exec and wait, each one ioctl on the device
 * file (uapi/ugpu.h) with errno turned into a negative return once, here.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "uapi/ugpu.h"
#include "ugpu.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

_Static_assert(UGPU_BIND_READONLY == UGPU_VM_BIND_FLAG_READONLY, "flag bits");
_Static_assert(UGPU_BIND_PROBE == UGPU_VM_BIND_FLAG_PROBE, "flag bits");
_Static_assert(UGPU_VM_FAULT_MODE == UGPU_VM_CREATE_FAULT_MODE, "flag bits");

struct ugpu {
	int fd;
	/* Where the daemon reports finished jobs (or NULL): see ugpu_wait(). */
	struct ugpu_completion_layout *cpage;
	int daemon_pidfd;		/* with cpage: is the daemon still there? */
};

static int xioctl(struct ugpu *dev, unsigned long cmd, void *arg)
{
	int ret;

	if (!dev)
		return -EINVAL;
	do {
		ret = ioctl(dev->fd, cmd, arg);
	} while (ret < 0 && errno == EINTR);
	if (ret >= 0)
		return ret;
	/*
	 * A call in flight when the daemon died ends with ECONNABORTED (the
	 * kernel aborted the FUSE connection); later calls get ENOTCONN.
	 * Both mean the same to the caller: the daemon is gone.
	 */
	return errno == ECONNABORTED ? -ENOTCONN : -errno;
}

static const char *default_path(void)
{
	const char *env = getenv("UGPU_DEVICE");

	if (env && *env)
		return env;
	if (access("/dev/ugpu0", F_OK) == 0)
		return "/dev/ugpu0";
	return "/run/ugpu/card0";
}

/*
 * The client only creates its userfaultfd (user-mode faults need no
 * privilege) and hands the number over; the daemon pulls a copy with
 * pidfd_getfd and configures it. Ours is closed right after: if we kept
 * it and the daemon died, every munmap of a registered range would hang.
 */
static int hand_over_uffd(struct ugpu *dev)
{
	struct ugpu_client_init init = { .uffd = UGPU_NONE };
	int uffd, ret;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (uffd >= 0)
		init.uffd = uffd;
	ret = xioctl(dev, UGPU_IOCTL_CLIENT_INIT, &init);
	if (uffd >= 0)
		close(uffd);
	return ret;
}

/*
 * Give the daemon a sealed page to report finished jobs in, so waiting
 * for a job that is already done costs no round trip. Optional: without
 * it (an older daemon, no memfd) every wait asks the daemon.
 */
static void share_completion_page(struct ugpu *dev)
{
	struct ugpu_completion_page cp = { 0 };
	size_t len = sizeof(*dev->cpage);
	void *p;
	int fd;

	fd = memfd_create("ugpu-completions", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return;
	if (ftruncate(fd, len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto out;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto out;
	cp.fd = fd;
	if (xioctl(dev, UGPU_IOCTL_COMPLETION_PAGE, &cp)) {
		munmap(p, len);
		goto out;
	}
	/*
	 * Answers from the page are only good while the daemon lives: once
	 * it is gone every call must fail. Without a pidfd on it (another pid
	 * namespace) the page is not used.
	 */
	dev->cpage = p;
	dev->daemon_pidfd = dev->cpage->daemon_pid ?
			    (int)syscall(SYS_pidfd_open, dev->cpage->daemon_pid, 0) : -1;
	if (dev->daemon_pidfd < 0) {
		munmap(p, len);
		dev->cpage = NULL;
	}
out:
	close(fd);
}

int ugpu_open(const char *path, struct ugpu **out)
{
	struct ugpu *dev;
	int ret;

	if (!out)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->daemon_pidfd = -1;
	dev->fd = open(path ? path : default_path(), O_RDWR | O_CLOEXEC);
	if (dev->fd < 0) {
		ret = -errno;
		goto err_free;
	}
	ret = hand_over_uffd(dev);
	if (ret)
		goto err_close;
	share_completion_page(dev);
	*out = dev;
	return 0;

err_close:
	close(dev->fd);
err_free:
	free(dev);
	return ret;
}

int ugpu_fd(struct ugpu *dev)
{
	return dev ? dev->fd : -EINVAL;
}

void ugpu_close(struct ugpu *dev)
{
	if (!dev)
		return;
	if (dev->cpage) {
		munmap(dev->cpage, sizeof(*dev->cpage));
		close(dev->daemon_pidfd);
	}
	close(dev->fd);
	free(dev);
}

int ugpu_query(struct ugpu *dev, struct ugpu_info *info)
{
	struct ugpu_query q = { 0 };
	int ret;

	if (!info)
		return -EINVAL;
	ret = xioctl(dev, UGPU_IOCTL_QUERY, &q);
	if (ret)
		return ret;
	memset(info, 0, sizeof(*info));
	info->abi_version = q.abi_version;
	info->num_engines = q.num_engines;
	info->features = q.features;
	info->va_bits = q.va_bits;
	memcpy(info->backend, q.backend, sizeof(info->backend) - 1);
	return 0;
}

int ugpu_vm_create(struct ugpu *dev, uint32_t flags, uint32_t *vm)
{
	struct ugpu_vm_create c = { .flags = flags };
	int ret;

	if (!vm)
		return -EINVAL;
	ret = xioctl(dev, UGPU_IOCTL_VM_CREATE, &c);
	if (!ret)
		*vm = c.vm_id;
	return ret;
}

int ugpu_vm_destroy(struct ugpu *dev, uint32_t vm)
{
	struct ugpu_vm_destroy d = { .vm_id = vm };

	return xioctl(dev, UGPU_IOCTL_VM_DESTROY, &d);
}

int ugpu_bo_create(struct ugpu *dev, uint64_t size, uint32_t flags, uint32_t *bo)
{
	struct ugpu_bo_create c = { .size = size, .flags = flags };
	int ret;

	if (!bo)
		return -EINVAL;
	ret = xioctl(dev, UGPU_IOCTL_BO_CREATE, &c);
	if (!ret)
		*bo = c.handle;
	return ret;
}

static int bo_rw(struct ugpu *dev, unsigned long cmd, uint32_t bo, uint64_t offset,
		 const void *buf, uint64_t len)
{
	struct ugpu_bo_rw rw = {
		.handle = bo,
		.offset = offset,
		.size = len,
		.data_ptr = (uintptr_t)buf,
	};

	return xioctl(dev, cmd, &rw);
}

int ugpu_bo_pread(struct ugpu *dev, uint32_t bo, uint64_t offset, void *buf, uint64_t len)
{
	return bo_rw(dev, UGPU_IOCTL_BO_PREAD, bo, offset, buf, len);
}

int ugpu_bo_pwrite(struct ugpu *dev, uint32_t bo, uint64_t offset, const void *buf,
		   uint64_t len)
{
	return bo_rw(dev, UGPU_IOCTL_BO_PWRITE, bo, offset, buf, len);
}

int ugpu_bo_destroy(struct ugpu *dev, uint32_t bo)
{
	struct ugpu_bo_destroy d = { .handle = bo };

	return xioctl(dev, UGPU_IOCTL_BO_DESTROY, &d);
}

/* How often ugpu_wait() yields, checking the completion page, before it
 * asks the daemon. */
#define UGPU_WAIT_YIELDS 8

static uint64_t page_round(uint64_t size)
{
	return (size + 4095) & ~4095ull;
}

void *ugpu_host_alloc(struct ugpu *dev, uint64_t size)
{
	void *p;
	int fd;

	if (!dev || !size || size > (1ull << 48))
		return NULL;
	fd = memfd_create("ugpu-host", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return NULL;
	/* Sealed size: the daemon maps only files that cannot shrink. */
	if (ftruncate(fd, page_round(size)) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		close(fd);
		return NULL;
	}
	/* MAP_SHARED file memory: the daemon maps the same pages (zero copy). */
	p = mmap(NULL, page_round(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

void ugpu_host_free(struct ugpu *dev, void *ptr, uint64_t size)
{
	if (ptr && size)
		munmap(ptr, page_round(size));
}

static int bind_one(struct ugpu *dev, uint32_t vm, uint32_t op, uint64_t va,
		    uint32_t handle, uint64_t obj_offset, uint64_t size, uint32_t flags)
{
	struct ugpu_vm_bind b = {
		.vm_id = vm,
		.num_binds = 1,
		.bind = {
			.op = op,
			.flags = flags,
			.va = va,
			.range = size,
			.obj_offset = obj_offset,
			.handle = handle,
		},
	};

	return xioctl(dev, UGPU_IOCTL_VM_BIND, &b);
}

int ugpu_vm_bind_bo(struct ugpu *dev, uint32_t vm, uint64_t va, uint32_t bo,
		    uint64_t offset, uint64_t size, uint32_t flags)
{
	return bind_one(dev, vm, UGPU_VM_BIND_OP_MAP_BO, va, bo, offset, size, flags);
}

int ugpu_vm_bind_userptr(struct ugpu *dev, uint32_t vm, uint64_t va, const void *ptr,
			 uint64_t size, uint32_t flags)
{
	return bind_one(dev, vm, UGPU_VM_BIND_OP_MAP_USERPTR, va, 0, (uintptr_t)ptr,
			size, flags);
}

int ugpu_vm_unbind(struct ugpu *dev, uint32_t vm, uint64_t va, uint64_t size)
{
	return bind_one(dev, vm, UGPU_VM_BIND_OP_UNMAP, va, 0, 0, size, 0);
}

int ugpu_exec(struct ugpu *dev, uint32_t vm, uint32_t engine, uint64_t batch_va,
	      uint32_t len, uint64_t *fence)
{
	struct ugpu_exec e;
	unsigned int backoff_us = 0;
	int ret;

	if (!fence)
		return -EINVAL;
	/*
	 * EAGAIN: the daemon's bounded revalidation kept colliding with
	 * invalidations of this client's memory. Back off (up to 1 ms) so
	 * the munmap/madvise storm that caused it can make progress.
	 */
	for (;;) {
		memset(&e, 0, sizeof(e));
		e.vm_id = vm;
		e.engine = engine;
		e.batch_va = batch_va;
		e.batch_len = len;
		ret = xioctl(dev, UGPU_IOCTL_EXEC, &e);
		if (ret != -EAGAIN)
			break;
		if (backoff_us) {
			struct timespec d = { 0, backoff_us * 1000l };

			nanosleep(&d, NULL);
		} else {
			sched_yield();
		}
		backoff_us = backoff_us ? (backoff_us * 2 > 1000 ? 1000 : backoff_us * 2) : 1;
	}
	if (!ret)
		*fence = e.fence;
	return ret;
}

/* Is @fence reported done in the completion page? Then *status is its result. */
static bool completed(const struct ugpu *dev, uint64_t fence, int *status)
{
	const struct ugpu_completion_slot *slot;
	struct pollfd gone = { .fd = dev->daemon_pidfd, .events = POLLIN };

	if (!dev->cpage || !fence)
		return false;
	slot = &dev->cpage->slot[fence % UGPU_COMPLETION_SLOTS];
	if (__atomic_load_n(&slot->seqno, __ATOMIC_ACQUIRE) != fence)
		return false;
	*status = __atomic_load_n(&slot->status, __ATOMIC_RELAXED);
	/* The daemon exited (its pidfd is readable): like every call, fail. */
	if (poll(&gone, 1, 0) != 0)
		*status = -ENOTCONN;
	return true;
}

int ugpu_wait(struct ugpu *dev, uint64_t fence, int64_t timeout_ns)
{
	struct ugpu_wait w = { .fence = fence, .timeout_abs_ns = -1 };
	struct timespec now;
	int ret, status;

	if (!dev)
		return -EINVAL;
	/*
	 * Done already? Then no round trip. Otherwise yield a few times
	 * first: a short job usually finishes within a scheduler slice, and
	 * yielding lets the daemon run when it shares our CPU.
	 */
	for (int i = 0; i < (timeout_ns ? UGPU_WAIT_YIELDS : 1); i++) {
		if (completed(dev, fence, &status))
			return status;
		if (timeout_ns)
			sched_yield();
	}

	if (timeout_ns >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		w.timeout_abs_ns = now.tv_sec * 1000000000ll + now.tv_nsec;
		w.timeout_abs_ns = timeout_ns > INT64_MAX - w.timeout_abs_ns ?
				   INT64_MAX : w.timeout_abs_ns + timeout_ns;
		if (timeout_ns == 0)
			w.timeout_abs_ns = 0;	/* poll */
	}
	/* The deadline is absolute, so an interrupted wait restarts as is. */
	ret = xioctl(dev, UGPU_IOCTL_WAIT, &w);
	return ret ? ret : w.status;
}
