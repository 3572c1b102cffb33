// SPDX-License-Identifier: MIT
/*
 * The userfaultfd watcher: pulls a client's userfaultfd, registers client
 * memory on it, and turns its events, read on the libevent loop behind
 * the invalidation gate, into exact notifier invalidations; turns the
 * client's exit (pidfd readable) into the release invalidation.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>
#include <linux/userfaultfd.h>

#include "core/notifier.h"
#include "mm/gate.h"
#include "mm/pidfd.h"
#include "mm/uffd_watch.h"
#include "mm/vma.h"

/*
 * DOC: Events
 *
 * What the kernel sends, per client call (measured on 6.18):
 *
 *   munmap, brk shrink, mremap shrink,     UNMAP  [start, end)
 *   MAP_FIXED over a registered range
 *   madvise DONTNEED/FREE, shmem REMOVE    REMOVE [start, end)
 *   mremap move                            UNMAP of the destination (if
 *                                          mapped), REMAP from -> to, then
 *                                          UNMAP of the old range
 *   exit                                   nothing: the pidfd says it
 *   execve                                 nothing, and the pidfd stays
 *                                          quiet: the old mm just goes; the
 *                                          device fd closing on exec (CLOEXEC)
 *                                          must end the client instead
 *   fork                                   nothing (see No EVENT_FORK)
 *
 * Each becomes one notifier_invalidate_start/end of exactly that range
 * (closed: last = end - 1), so only the notifiers it intersects are hit.
 *
 * DOC: Gate before read
 *
 * A client thread stays blocked in munmap/madvise until its event is
 * *read*, not handled; REMOVE is queued before the pages are zapped and
 * UNMAP after they are gone. So on "uffd readable":
 *
 *   gate_close_begin()     no exec passes its final check from here
 *   ops->before_lock()     bounded wait for jobs, gate still open
 *   gate_lock()            no device access to the client's memory
 *   read until EAGAIN      (bounded batches) and invalidate each event
 *   gate_unlock()
 *
 * The reader never allocates (the message array is preallocated), never
 * logs, and never blocks on anything the client holds: the fd is
 * non-blocking and w->lock is only ever held for in-memory work. The
 * invalidations are blockable: callbacks may take their user lock, but
 * run with the gate held exclusively, so they must not wait for device
 * accesses (that belongs in before_lock).
 *
 * Residual window: a REMOVE's pages are zapped after our read, so a
 * revalidation racing with the tail of the client's madvise may still
 * see old contents; that is ordered before madvise returns, and any job
 * started after it sees the new state.
 *
 * DOC: No EVENT_FORK
 *
 * Deliberately not requested. A forked child may not use userptr (the
 * driver answers -EFAULT to any request from another address space, like
 * i915), so nothing in the daemon needs to follow the child's memory.
 * Without EVENT_FORK the kernel simply drops our registration in the
 * child's copies of the VMAs, so the child never blocks on us; with it,
 * every fork would hand us a new userfaultfd to read, and a child whose
 * events nobody reads hangs in munmap.
 *
 * DOC: Registration
 *
 * UFFDIO_REGISTER splits VMAs at the range edges, so we register the
 * whole VMAs covering a user range (vma_span), never the range: 10^5
 * small userptrs in one heap would otherwise split the client past
 * vm.max_map_count. Events over other parts of those VMAs are filtered
 * out by the notifier tree. Each handle remembers its span in w->regs;
 * an UNMAP/REMAP over a span marks the handles on it stale (the VMA there
 * may be new and unregistered) and only stale handles pay system calls
 * again. Registration is checked by looking the span up again after the
 * ioctl: if the mappings changed meanwhile, try again. Unregistering a
 * handle unregisters the parts of its span that no other live handle's
 * span covers; over-registration is harmless, a missed event is not.
 *
 * Locking: w->reg_lock serialises the system calls of register and
 * unregister (so an unregister never undoes a concurrent register) and
 * is the only lock under which w->regs changes shape. w->lock protects
 * the tree, the handles' fields and w->released; the event path takes it
 * to mark handles stale. Order: reg_lock, then lock.
 */

#define UFFD_MSGS	64	/* messages per read() */
#define MAX_BATCHES	16	/* reads per wakeup before reopening the gate */
#define REG_TRIES	4	/* register attempts while mappings change */

#define WANT_FEATURES	(UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_REMOVE | \
			 UFFD_FEATURE_EVENT_REMAP)

/*
 * WP_ASYNC (6.7+; bookworm's headers lack it): write-protect faults are
 * resolved by the kernel without a message, and in return write-protect
 * registration is allowed on ANY memory, regular-file mappings included.
 * We never protect a page, so it only widens what can be watched.
 */
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC	(1 << 15)
#endif
#define NICE_FEATURES	(UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_WP_ASYNC)

struct uffd_watch {
	struct notifier_mm *nmm;
	struct mm_gate *gate;
	struct uffd_watch_ops ops;
	void *arg;
	int uffd;			/* ours, non-blocking */
	int pidfd;			/* ours (a dup) */
	uint64_t features;
	uint64_t page_mask;
	struct vma_src vma;
	struct event *uffd_ev;
	struct event *exit_ev;

	pthread_mutex_t reg_lock;	/* see DOC: Registration */
	pthread_mutex_t lock;
	struct itree regs;		/* of uffd_watch_reg.node; lock + reg_lock */
	bool released;			/* protected by lock */
	uint64_t unmap_gen;		/* UNMAP/REMAP events seen; protected by lock */

	struct uffd_watch_stats st;	/* counters: atomic */
	struct uffd_msg msgs[UFFD_MSGS];	/* loop thread only */
};

static inline void count(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* ---- the event path (loop thread) ------------------------------------ */

/* The span tree may hold stale registrations under [start, last]. */
static void mark_stale(struct uffd_watch *w, uint64_t start, uint64_t last)
{
	struct itree_node *n;

	pthread_mutex_lock(&w->lock);
	w->unmap_gen++;
	for (n = itree_iter_first(&w->regs, start, last); n;
	     n = itree_iter_next(n, start, last))
		container_of(n, struct uffd_watch_reg, node)->stale = true;
	pthread_mutex_unlock(&w->lock);
}

static void invalidate(struct uffd_watch *w, uint64_t start, uint64_t end,
		       enum notifier_event event)
{
	struct notifier_range range = {
		.start = start,
		.last = end - 1,
		.event = event,
		.flags = NOTIFIER_RANGE_BLOCKABLE,
	};

	if (end <= start)
		return;
	if (event != NOTIFIER_EVENT_REMOVE)
		mark_stale(w, range.start, range.last);
	/* Blockable: never -EAGAIN. */
	if (!notifier_invalidate_start(w->nmm, &range))
		notifier_invalidate_end(w->nmm);
	count(&w->st.invalidations, 1);
}

static void handle_msg(struct uffd_watch *w, const struct uffd_msg *m)
{
	switch (m->event) {
	case UFFD_EVENT_UNMAP:
		count(&w->st.ev_unmap, 1);
		invalidate(w, m->arg.remove.start, m->arg.remove.end,
			   NOTIFIER_EVENT_UNMAP);
		break;
	case UFFD_EVENT_REMOVE:
		count(&w->st.ev_remove, 1);
		invalidate(w, m->arg.remove.start, m->arg.remove.end,
			   NOTIFIER_EVENT_REMOVE);
		break;
	case UFFD_EVENT_REMAP:
		/* The new range is not bound to anything yet; the old one moved. */
		count(&w->st.ev_remap, 1);
		if (m->arg.remap.from + m->arg.remap.len > m->arg.remap.from)
			invalidate(w, m->arg.remap.from,
				   m->arg.remap.from + m->arg.remap.len,
				   NOTIFIER_EVENT_REMAP);
		break;
	case UFFD_EVENT_PAGEFAULT: {
		/*
		 * Cannot happen: we never write-protect a page. Should a
		 * kernel ever report one, unprotect and wake the thread
		 * rather than leave it hanging.
		 */
		struct uffdio_writeprotect wp = {
			.range = {
				.start = m->arg.pagefault.address & ~w->page_mask,
				.len = w->page_mask + 1,
			},
			.mode = 0,
		};

		count(&w->st.ev_other, 1);
		if (ioctl(w->uffd, UFFDIO_WRITEPROTECT, &wp) < 0) {
			struct uffdio_range r = wp.range;

			ioctl(w->uffd, UFFDIO_WAKE, &r);
		}
		break;
	}
	default:
		count(&w->st.ev_other, 1);
		break;
	}
}

static void on_uffd(evutil_socket_t fd, short what, void *arg)
{
	struct uffd_watch *w = arg;
	int batch;

	/* Step 1: pairs with gate_closing() in exec's final check. */
	gate_close_begin(w->gate);
	count(&w->st.wakeups, 1);
	/* Step 2: the gate is closing but open; jobs may still finish. */
	if (w->ops.before_lock)
		w->ops.before_lock(w->arg);
	/* Step 3: no device access to the client's memory until unlock. */
	gate_lock(w->gate);
	for (batch = 0; batch < MAX_BATCHES; batch++) {
		ssize_t n = read(w->uffd, w->msgs, sizeof(w->msgs));
		size_t i;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				count(&w->st.read_errors, 1);
			break;
		}
		if (n == 0)
			break;
		count(&w->st.reads, 1);
		/* Reading released the client threads: apply before unlock. */
		for (i = 0; i < (size_t)n / sizeof(w->msgs[0]); i++)
			handle_msg(w, &w->msgs[i]);
	}
	/* Step 4. Still readable after MAX_BATCHES: EV_PERSIST calls us again. */
	gate_unlock(w->gate);
}

static void on_exit_ev(evutil_socket_t fd, short what, void *arg)
{
	struct uffd_watch *w = arg;

	/*
	 * The client's address space is gone (exit shows nothing on the
	 * uffd). Nothing more to read: drop the uffd event and end every
	 * notifier with RELEASE, then refuse device access for good.
	 */
	event_del(w->uffd_ev);
	pthread_mutex_lock(&w->lock);
	w->released = true;
	pthread_mutex_unlock(&w->lock);
	__atomic_store_n(&w->st.released, true, __ATOMIC_RELAXED);
	notifier_release(w->nmm);
	gate_kill(w->gate);
	if (w->ops.released)
		w->ops.released(w->arg);	/* may free w */
}

/* ---- setup ------------------------------------------------------------ */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static uint64_t probed_features;
static int probe_err;

static void probe_features(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	long fd;

	fd = syscall(SYS_userfaultfd, UFFD_USER_MODE_ONLY | O_CLOEXEC);
	if (fd < 0) {
		probe_err = -errno;
		return;
	}
	if (ioctl((int)fd, UFFDIO_API, &api) < 0)
		probe_err = -errno;
	else
		probed_features = api.features;
	close((int)fd);
}

int uffd_watch_kernel_features(uint64_t *features)
{
	pthread_once(&probe_once, probe_features);
	if (probe_err)
		return probe_err;
	*features = probed_features;
	return 0;
}

/* A client chooses the number: make sure it names a userfaultfd. */
static int check_is_uffd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	return strcmp(link, "anon_inode:[userfaultfd]") ? -ENOTTY : 0;
}

static int init_uffd(struct uffd_watch *w)
{
	struct uffdio_api api = { .api = UFFD_API };
	uint64_t avail;
	int flags, ret;

	ret = check_is_uffd(w->uffd);
	if (ret)
		return ret;
	/* The file description is shared with the client's copy. */
	flags = fcntl(w->uffd, F_GETFL);
	if (flags < 0)
		return -errno;
	if (!(flags & O_NONBLOCK) && fcntl(w->uffd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;

	ret = uffd_watch_kernel_features(&avail);
	if (ret)
		return ret;
	if ((avail & WANT_FEATURES) != WANT_FEATURES)
		return -EOPNOTSUPP;
	/* Ask only for what exists: a failed UFFDIO_API spoils the fd. */
	api.features = WANT_FEATURES | (avail & NICE_FEATURES);
	if (ioctl(w->uffd, UFFDIO_API, &api) < 0)
		return -errno;		/* EINVAL: the client initialised it */
	w->features = WANT_FEATURES | (avail & NICE_FEATURES);
	return 0;
}

int uffd_watch_open_pidfd(struct event_base *base, int pidfd, int client_uffd,
			  struct notifier_mm *nmm, struct mm_gate *gate,
			  const struct uffd_watch_ops *ops, void *arg,
			  struct uffd_watch **out)
{
	struct uffd_watch *w;
	pid_t pid;
	int ret;

	if (!base || !nmm || !gate || !out)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->nmm = nmm;
	w->gate = gate;
	if (ops)
		w->ops = *ops;
	w->arg = arg;
	w->page_mask = (uint64_t)sysconf(_SC_PAGESIZE) - 1;
	itree_init(&w->regs);

	ret = -pthread_mutex_init(&w->lock, NULL);
	if (ret)
		goto err_free;
	ret = -pthread_mutex_init(&w->reg_lock, NULL);
	if (ret)
		goto err_lock;

	w->pidfd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
	if (w->pidfd < 0) {
		ret = -errno;
		goto err_reg_lock;
	}
	pid = pidfd_to_pid(w->pidfd);
	if (pid < 0) {
		ret = pid;
		goto err_pidfd;
	}
	ret = vma_open(pid, &w->vma);
	if (ret)
		goto err_pidfd;
	/* Still running: the pid we opened maps of was this process's. */
	ret = pidfd_exited(w->pidfd);
	if (ret) {
		ret = ret > 0 ? -ESRCH : ret;
		goto err_vma;
	}

	w->uffd = pidfd_fetch_fd(w->pidfd, client_uffd);
	if (w->uffd < 0) {
		ret = w->uffd;
		goto err_vma;
	}
	ret = init_uffd(w);
	if (ret)
		goto err_uffd;

	ret = -ENOMEM;
	w->uffd_ev = event_new(base, w->uffd, EV_READ | EV_PERSIST, on_uffd, w);
	if (!w->uffd_ev)
		goto err_uffd;
	w->exit_ev = event_new(base, w->pidfd, EV_READ, on_exit_ev, w);
	if (!w->exit_ev)
		goto err_uffd_ev;
	if (event_add(w->uffd_ev, NULL) < 0)
		goto err_exit_ev;
	if (event_add(w->exit_ev, NULL) < 0)
		goto err_del;
	*out = w;
	return 0;

err_del:
	event_del(w->uffd_ev);
err_exit_ev:
	event_free(w->exit_ev);
err_uffd_ev:
	event_free(w->uffd_ev);
err_uffd:
	close(w->uffd);
err_vma:
	vma_close(&w->vma);
err_pidfd:
	close(w->pidfd);
err_reg_lock:
	pthread_mutex_destroy(&w->reg_lock);
err_lock:
	pthread_mutex_destroy(&w->lock);
err_free:
	free(w);
	return ret;
}

int uffd_watch_open(struct event_base *base, pid_t pid, int client_uffd,
		    struct notifier_mm *nmm, struct mm_gate *gate,
		    const struct uffd_watch_ops *ops, void *arg,
		    struct uffd_watch **out)
{
	int pidfd, ret;

	pidfd = pidfd_open_pid(pid);
	if (pidfd < 0)
		return pidfd == -EINVAL ? -ESRCH : pidfd;
	ret = uffd_watch_open_pidfd(base, pidfd, client_uffd, nmm, gate, ops,
				    arg, out);
	close(pidfd);
	return ret;
}

void uffd_watch_close(struct uffd_watch *w)
{
	struct itree_node *n;

	if (!w)
		return;
	event_free(w->exit_ev);
	event_free(w->uffd_ev);
	pthread_mutex_lock(&w->reg_lock);
	pthread_mutex_lock(&w->lock);
	while ((n = itree_first(&w->regs))) {
		itree_remove(&w->regs, n);
		container_of(n, struct uffd_watch_reg, node)->linked = false;
	}
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&w->reg_lock);
	/* Our copy was the last: the kernel unregisters everything. */
	close(w->uffd);
	vma_close(&w->vma);
	close(w->pidfd);
	pthread_mutex_destroy(&w->reg_lock);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

uint64_t uffd_watch_features(const struct uffd_watch *w)
{
	return w->features;
}

bool uffd_watch_pending(struct uffd_watch *w)
{
	struct pollfd p = { .fd = w->uffd, .events = POLLIN };

	/* An event the loop has not read yet: the client is blocked on it. */
	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

void uffd_watch_get_stats(struct uffd_watch *w, struct uffd_watch_stats *st)
{
#define LOAD(f) (st->f = __atomic_load_n(&w->st.f, __ATOMIC_RELAXED))
	LOAD(wakeups);
	LOAD(reads);
	LOAD(ev_unmap);
	LOAD(ev_remove);
	LOAD(ev_remap);
	LOAD(ev_other);
	LOAD(invalidations);
	LOAD(read_errors);
	LOAD(registers);
	LOAD(register_cached);
	LOAD(register_ioctls);
	LOAD(unregister_ioctls);
	LOAD(unregister_errors);
	LOAD(spans);
	LOAD(released);
#undef LOAD
}

/* ---- registration (any thread) --------------------------------------- */

void uffd_watch_reg_init(struct uffd_watch_reg *r)
{
	memset(r, 0, sizeof(*r));
}

/* UFFDIO_REGISTER [start, end) in write-protect mode; nothing is protected. */
static int do_register(struct uffd_watch *w, uint64_t start, uint64_t end)
{
	struct uffdio_register reg = {
		.range = { .start = start, .len = end - start },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	count(&w->st.register_ioctls, 1);
	return ioctl(w->uffd, UFFDIO_REGISTER, &reg) < 0 ? -errno : 0;
}

/* Called with reg_lock held. Returns 0 and the span registered. */
static int register_span(struct uffd_watch *w, uint64_t start, uint64_t last,
			 uint64_t *span_start, uint64_t *span_end, uint64_t *gen)
{
	uint64_t s, e, s2, e2;
	int tries, ret;

	for (tries = 0; tries < REG_TRIES; tries++) {
		pthread_mutex_lock(&w->lock);
		*gen = w->unmap_gen;
		pthread_mutex_unlock(&w->lock);

		ret = vma_span(&w->vma, start, last, &s, &e);
		if (ret)
			return ret;		/* -EFAULT hole, -ESRCH gone */
		ret = do_register(w, s, e);
		/*
		 * Look again: the same VMAs still cover the range means what
		 * we registered is what is mapped (any later change of it
		 * sends an event). EINVAL on unchanged VMAs is unsupported
		 * memory; on changed ones it was a race.
		 */
		if (vma_span(&w->vma, start, last, &s2, &e2) || s2 != s || e2 != e)
			continue;
		/*
		 * A VMA replaced by one with the same bounds looks unchanged:
		 * an EINVAL may still be that race, so only a repeated one
		 * means memory userfaultfd cannot watch.
		 */
		if (ret == -EINVAL && tries < REG_TRIES - 1)
			continue;
		if (ret)
			return ret;
		*span_start = s;
		*span_end = e;
		return 0;
	}
	return -EAGAIN;
}

int uffd_watch_register(struct uffd_watch *w, struct uffd_watch_reg *r,
			uint64_t start, uint64_t len)
{
	uint64_t last, astart, alast, ss, se, gen;
	int ret;

	ret = itree_range(start, len, &last);
	if (ret)
		return ret;
	astart = start & ~w->page_mask;
	alast = last | w->page_mask;
	count(&w->st.registers, 1);

	pthread_mutex_lock(&w->lock);
	if (w->released) {
		pthread_mutex_unlock(&w->lock);
		return -ESRCH;
	}
	if (r->linked && !r->stale && r->start == start && r->last == last) {
		pthread_mutex_unlock(&w->lock);
		count(&w->st.register_cached, 1);
		return 0;
	}
	pthread_mutex_unlock(&w->lock);

	pthread_mutex_lock(&w->reg_lock);
	ret = register_span(w, astart, alast, &ss, &se, &gen);
	if (ret)
		goto out;
	pthread_mutex_lock(&w->lock);
	if (w->released) {
		ret = -ESRCH;
	} else {
		if (r->linked)
			itree_remove(&w->regs, &r->node);
		else
			count(&w->st.spans, 1);
		r->node.start = ss;
		r->node.last = se - 1;
		r->start = start;
		r->last = last;
		itree_insert(&w->regs, &r->node);
		r->linked = true;
		/* An UNMAP/REMAP read meanwhile may have hit the span unseen. */
		r->stale = gen != w->unmap_gen;
	}
	pthread_mutex_unlock(&w->lock);
out:
	pthread_mutex_unlock(&w->reg_lock);
	return ret;
}

static void unregister_range(struct uffd_watch *w, uint64_t start, uint64_t last)
{
	struct uffdio_range r = { .start = start, .len = last - start + 1 };
	struct vma_info v;
	uint64_t cur;

	count(&w->st.unregister_ioctls, 1);
	if (!ioctl(w->uffd, UFFDIO_UNREGISTER, &r))
		return;
	/*
	 * EINVAL: only holes there, or a VMA userfaultfd cannot handle (a
	 * file mapped over the range since). Unregister VMA by VMA.
	 */
	for (cur = start; cur <= last && !vma_find(&w->vma, cur, true, &v);
	     cur = v.end) {
		if (v.start > last)
			break;
		r.start = v.start > cur ? v.start : cur;
		r.len = (v.end - 1 < last ? v.end - 1 : last) - r.start + 1;
		count(&w->st.unregister_ioctls, 1);
		if (ioctl(w->uffd, UFFDIO_UNREGISTER, &r) < 0 && errno != EINVAL)
			count(&w->st.unregister_errors, 1);
	}
}

void uffd_watch_unregister(struct uffd_watch *w, struct uffd_watch_reg *r)
{
	struct itree_node *n;
	uint64_t cur, s, l;
	bool released;

	if (!r->linked)
		return;
	pthread_mutex_lock(&w->reg_lock);
	pthread_mutex_lock(&w->lock);
	if (!r->linked) {		/* unlinked by a racing close: caller's bug */
		pthread_mutex_unlock(&w->lock);
		pthread_mutex_unlock(&w->reg_lock);
		return;
	}
	itree_remove(&w->regs, &r->node);
	r->linked = false;
	released = w->released;
	pthread_mutex_unlock(&w->lock);
	count(&w->st.spans, (uint64_t)-1);

	/*
	 * The tree only changes shape under reg_lock, which we hold, so it
	 * can be walked without w->lock (the event path only writes ->stale).
	 * Unregister the gaps between the spans of live handles.
	 */
	s = r->node.start;
	l = r->node.last;
	cur = s;
	for (n = released ? NULL : itree_iter_first(&w->regs, s, l); n;
	     n = itree_iter_next(n, s, l)) {
		if (n->start > cur)
			unregister_range(w, cur, n->start - 1);
		if (n->last >= l) {
			cur = l;
			goto out;	/* covered to the end */
		}
		if (n->last + 1 > cur)
			cur = n->last + 1;
	}
	if (!released)
		unregister_range(w, cur, l);
out:
	pthread_mutex_unlock(&w->reg_lock);
}
