// SPDX-License-Identifier: MIT
/*
 * Clients and their address spaces. Every open of the device is a
 * client; every client belongs to one gpu_mm, the state of its process's
 * address space, shared by all clients that process opened (a VMA can be
 * registered with one userfaultfd only, so two opens by one process must
 * share the watcher, and the notifiers, gate and DMA port with it).
 *
 * A gpu_mm pins the process's identity: a pidfd, then a /proc/<pid>
 * directory fd checked against the pidfd, so nothing done later for it
 * (map_files, the maps and mem fds) can reach a process that reuses the
 * pid. When the process exits (its pidfd becomes readable, or the
 * watcher sees it first) the release invalidation runs and the jobs of
 * all its clients are cancelled; the clients themselves go when their
 * files are released.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu/gpu_internal.h"
#include "mm/dma_port.h"
#include "mm/pidfd.h"

int gpu_quota(uint64_t have, uint64_t add, uint64_t max)
{
	if (add > max || have > max - add)
		return -EDQUOT;
	return 0;
}

/* FUSE reports the calling thread; pidfds and /proc want its process. */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	pid_t tgid = -ESRCH;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/* The process is gone: no more access to its memory, no more jobs. */
static void mm_exited(struct gpu_mm *mm)
{
	struct gpu_client *cl;

	if (mm->exited)
		return;
	mm->exited = true;
	event_del(mm->exit_ev);
	notifier_release(&mm->nmm);
	gate_kill(&mm->gate);
	list_for_each_entry(cl, &mm->gpu->clients, link)
		if (cl->mm == mm)
			gpu_job_cancel_client(cl);
}

static void on_exit_ev(evutil_socket_t fd, short what, void *arg)
{
	mm_exited(arg);
}

static void on_released(void *arg)
{
	mm_exited(arg);
}

static const struct uffd_watch_ops watch_ops = {
	.released = on_released,
};

/* The last user of the gate is gone: a VM draining a job may be it. */
static void mm_final_free(void *arg)
{
	struct gpu_mm *mm = arg;

	gate_destroy(&mm->gate);
	free(mm);
}

static void mm_free(struct gpu_mm *mm)
{
	struct dma_port *port = mm->port;

	/* The watcher first: it feeds the notifier state. */
	uffd_watch_close(mm->watch);
	notifier_release(&mm->nmm);
	gate_kill(&mm->gate);
	if (mm->vmas.maps_fd >= 0)
		vma_close(&mm->vmas);
	if (mm->exit_ev)
		event_free(mm->exit_ev);
	if (mm->procfd >= 0)
		close(mm->procfd);
	if (mm->pidfd >= 0)
		close(mm->pidfd);
	notifier_mm_destroy(&mm->nmm);
	pthread_mutex_destroy(&mm->vma_lock);
	list_del_init(&mm->link);
	/*
	 * The port's users (device VMs of this process's clients, possibly
	 * still draining a job) enter the gate: free it after the last one.
	 */
	if (port) {
		dma_port_on_release(port, mm_final_free, mm);
		dma_port_put(port);
	} else {
		mm_final_free(mm);
	}
}

static int mm_new(struct gpu *g, pid_t pid, struct gpu_mm **out)
{
	struct gpu_mm *mm = calloc(1, sizeof(*mm));
	char path[64];
	int ret;

	if (!mm)
		return -ENOMEM;
	mm->gpu = g;
	mm->pid = pid;
	mm->refs = 1;
	mm->procfd = -1;
	mm->vmas.maps_fd = -1;
	list_init(&mm->link);
	pthread_mutex_init(&mm->vma_lock, NULL);
	ret = notifier_mm_init(&mm->nmm);
	if (ret)
		goto err_free;
	ret = gate_init(&mm->gate);
	if (ret)
		goto err_nmm;
	/* Pin the process: pidfd, then /proc/<pid>, then the pidfd says it was alive. */
	mm->pidfd = pidfd_open_pid(pid);
	if (mm->pidfd < 0) {
		ret = mm->pidfd;
		goto err_gate;
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	mm->procfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mm->procfd < 0 || pidfd_exited(mm->pidfd)) {
		ret = -ESRCH;
		goto err_gate;
	}
	mm->exit_ev = event_new(g->base, mm->pidfd, EV_READ, on_exit_ev, mm);
	if (!mm->exit_ev || event_add(mm->exit_ev, NULL)) {
		ret = -ENOMEM;
		goto err_gate;
	}
	list_add_tail(&mm->link, &g->mms);
	*out = mm;
	return 0;

err_gate:
	if (mm->exit_ev)
		event_free(mm->exit_ev);
	if (mm->procfd >= 0)
		close(mm->procfd);
	if (mm->pidfd >= 0)
		close(mm->pidfd);
	gate_destroy(&mm->gate);
err_nmm:
	notifier_mm_destroy(&mm->nmm);
err_free:
	pthread_mutex_destroy(&mm->vma_lock);
	free(mm);
	return ret;
}

/* The address space of live process @pid: shared, or new. */
static int mm_get(struct gpu *g, pid_t pid, struct gpu_mm **out)
{
	struct gpu_mm *mm;

	list_for_each_entry(mm, &g->mms, link) {
		/* Alive now, so the pid still names the process we pinned. */
		if (mm->pid == pid && !mm->exited && pidfd_exited(mm->pidfd) == 0) {
			mm->refs++;
			*out = mm;
			return 0;
		}
	}
	return mm_new(g, pid, out);
}

static void mm_put(struct gpu_mm *mm)
{
	if (--mm->refs == 0)
		mm_free(mm);
}

int gpu_client_open(struct gpu *g, const struct front_caller *who, struct gpu_client **out)
{
	struct gpu_client *cl;
	pid_t pid;
	int ret;

	pid = tgid_of(who->pid);
	if (pid < 0)
		return pid;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	ret = mm_get(g, pid, &cl->mm);
	if (ret) {
		free(cl);
		return ret;
	}
	cl->gpu = g;
	cl->refs = 1;
	cl->pid = pid;
	cl->uid = who->uid;
	cl->gid = who->gid;
	list_init(&cl->parked);
	list_init(&cl->waiting);
	for (unsigned int e = 0; e < DEV_MAX_ENGINES; e++) {
		list_init(&cl->queued[e]);
		list_init(&cl->ready_link[e]);
	}
	handle_table_init(&cl->vms, g->limits.max_vms);
	handle_table_init(&cl->bos, g->limits.max_bos);
	handle_table_init(&cl->syncobjs, g->limits.max_syncobjs);
	list_add_tail(&cl->link, &g->clients);
	*out = cl;
	return 0;
}

int gpu_client_init(struct gpu_client *cl, const struct ugpu_client_init *in)
{
	struct gpu_mm *mm = cl->mm;
	int ret;

	if (cl->counted)
		return -EBUSY;
	/*
	 * The first userfaultfd of a process serves all its clients; a
	 * further one is not taken (the client closes its copy anyway).
	 */
	if (in->uffd != UGPU_NONE && !mm->watch) {
		if (mm->exited)
			return -ESRCH;
		ret = uffd_watch_open_pidfd(cl->gpu->base, mm->pidfd, (int)in->uffd,
					    &mm->nmm, &mm->gate, &watch_ops, mm, &mm->watch);
		if (ret)
			return ret;
	}
	cl->counted = true;
	cl->gpu->nclients++;
	return 0;
}

void gpu_cpage_put(struct gpu_cpage *cp)
{
	if (!cp || --cp->refs)
		return;
	munmap(cp->page, sizeof(*cp->page));
	free(cp);
}

/* Does the client see our pid as we do (same pid namespace)? */
static bool same_pid_ns(struct gpu_mm *mm)
{
	struct stat ours, theirs;

	return !stat("/proc/self/ns/pid", &ours) &&
	       !fstatat(mm->procfd, "ns/pid", &theirs, 0) &&
	       ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev;
}

int gpu_client_completion_page(struct gpu_client *cl, const struct ugpu_completion_page *in)
{
	struct stat st;
	int fd, seals, ret = -EINVAL;
	void *p;

	if (in->extensions || in->flags || in->reserved[0] || in->reserved[1])
		return -EINVAL;
	if (cl->cpage)
		return -EBUSY;
	fd = pidfd_fetch_fd(cl->mm->pidfd, (int)in->fd);
	if (fd < 0)
		return fd == -ESRCH ? -ENODEV : fd;
	/* Same rule as imports: a page the client cannot shrink away. */
	seals = fcntl(fd, F_GET_SEALS);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || seals < 0 ||
	    !(seals & F_SEAL_SHRINK) || st.st_size < (off_t)sizeof(struct ugpu_completion_layout))
		goto out;
	cl->cpage = calloc(1, sizeof(*cl->cpage));
	if (!cl->cpage) {
		ret = -ENOMEM;
		goto out;
	}
	p = mmap(NULL, sizeof(*cl->cpage->page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		free(cl->cpage);
		cl->cpage = NULL;
		goto out;
	}
	cl->cpage->refs = 1;
	cl->cpage->page = p;
	cl->cpage->page->daemon_pid = same_pid_ns(cl->mm) ? (uint32_t)getpid() : 0;
	__atomic_store_n(&cl->cpage->page->version, 1, __ATOMIC_RELEASE);
	ret = 0;
out:
	close(fd);
	return ret;
}

int gpu_client_same_mm(struct gpu_client *cl, pid_t caller)
{
	struct gpu_mm *mm = cl->mm;
	int ret;

	if (mm->exited)
		return -EFAULT;
	ret = same_mm(caller, mm->pid);
	/* The opener must still be the process we pinned. */
	if (ret == 1 && pidfd_exited(mm->pidfd) == 0)
		return 0;
	return -EFAULT;
}

int gpu_client_port(struct gpu_client *cl, struct dma_port **out)
{
	struct gpu_mm *mm = cl->mm;
	int ret;

	if (!mm->port) {
		if (mm->exited)
			return -ESRCH;
		ret = dma_port_open(mm->pid, mm->pidfd, &mm->gate, &mm->port);
		if (ret)
			return ret;
	}
	*out = mm->port;
	return 0;
}

int gpu_client_read(struct gpu_client *cl, uint64_t addr, void *buf, size_t len)
{
	struct dma_port *port;
	int ret;

	ret = gpu_client_port(cl, &port);
	if (ret)
		return ret == -ESRCH ? -EFAULT : ret;
	ret = dma_port_read(port, addr, buf, len, NULL);
	return ret ? -EFAULT : 0;
}

int gpu_client_vma_find(struct gpu_client *cl, uint64_t addr, bool next,
			struct vma_info *out)
{
	struct gpu_mm *mm = cl->mm;
	int ret;

	pthread_mutex_lock(&mm->vma_lock);
	if (mm->vmas.maps_fd < 0) {
		/*
		 * The maps fd is bound to the mm at open; open it by pid, then
		 * make sure the pid still named our process at that moment.
		 */
		ret = vma_open(mm->pid, &mm->vmas);
		if (!ret && pidfd_exited(mm->pidfd) != 0) {
			vma_close(&mm->vmas);
			ret = -ESRCH;
		}
		if (ret) {
			mm->vmas.maps_fd = -1;
			pthread_mutex_unlock(&mm->vma_lock);
			return ret;
		}
	}
	ret = vma_find(&mm->vmas, addr, next, out);
	pthread_mutex_unlock(&mm->vma_lock);
	return ret;
}

void gpu_client_release(struct gpu_client *cl)
{
	struct gpu *g = cl->gpu;
	struct gpu_parked *p, *tmp;

	/* Parked requests cannot remain (release comes after them); be safe. */
	list_for_each_entry_safe(p, tmp, &cl->parked, link)
		gpu_parked_free(p);
	gpu_job_orphan_client(cl);
	gpu_vm_teardown_all(cl);
	gpu_bo_teardown_all(cl);
	gpu_syncobj_teardown_all(cl);
	for (unsigned int i = 0; i < GPU_FENCE_RING; i++)
		fence_put(cl->fences[i]);
	gpu_cpage_put(cl->cpage);
	cl->cpage = NULL;
	if (cl->counted)
		g->nclients--;
	cl->counted = false;
	list_del_init(&cl->link);
	gpu_client_put(cl);
}

struct gpu_client *gpu_client_get(struct gpu_client *cl)
{
	cl->refs++;
	return cl;
}

/* The last reference: a copy still running after release may hold one. */
void gpu_client_put(struct gpu_client *cl)
{
	if (--cl->refs)
		return;
	handle_table_fini(&cl->vms);
	handle_table_fini(&cl->bos);
	handle_table_fini(&cl->syncobjs);
	mm_put(cl->mm);
	free(cl);
}
