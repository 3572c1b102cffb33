// SPDX-License-Identifier: MIT
/*
 * A libfuse session driven by the daemon's libevent loop instead of a
 * fuse_session_loop() thread: the session fd, made non-blocking, is
 * watched for reads; each wake-up reads and processes requests until the
 * fd is drained (or a batch is done, to stay fair to the other events).
 * Also the end of a front, whoever ends it: the kernel (unmounted from
 * outside, connection aborted) or the owner (front_stop).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include <event2/event.h>

#include "front/front_internal.h"

/* Requests processed per wake-up before yielding to the other events. */
#define BATCH 64

static void session_ended(struct front *f)
{
	event_del(f->ev);
	f->ended = true;
	front_drop_all(f, -ENODEV);
	if (f->ops->ended)
		f->ops->ended(f->core);	/* may front_stop(f): touch nothing after */
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct front *f = arg;
	int i, n;

	for (i = 0; i < BATCH; i++) {
		n = fuse_session_receive_buf(f->se, &f->buf);
		if (n == -EINTR)	/* a request vanished before we read it */
			continue;
		if (n == -EAGAIN)
			return;
		if (n <= 0 || fuse_session_exited(f->se)) {
			session_ended(f);
			return;
		}
		fuse_session_process_buf(f->se, &f->buf);
	}
}

int front_attach(struct front *f)
{
	int fd = fuse_session_fd(f->se);
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	f->ev = event_new(f->base, fd, EV_READ | EV_PERSIST, on_readable, f);
	if (!f->ev)
		return -ENOMEM;
	if (event_add(f->ev, NULL)) {
		event_free(f->ev);
		f->ev = NULL;
		return -ENOMEM;
	}
	return 0;
}

void front_stop(struct front *f)
{
	if (!f)
		return;
	if (f->ev)
		event_free(f->ev);
	/* Answer while the connection still stands, then take it down. */
	front_drop_all(f, -ENODEV);
	if (f->teardown)
		f->teardown(f);
	event_free(f->deferred);
	free(f->buf.mem);
	free(f);
}
