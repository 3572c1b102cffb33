#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Writes the seed corpora of the libFuzzer harnesses into
# tests/fuzz/corpus/<harness>/seed-*: small programs in each harness's
# input format (the DOC: Input comment of tests/fuzz/<harness>_fuzz.c)
# that reach the deep paths the fuzzer would take long to find alone:
# userptr binds with a real userfaultfd, batches that run, bind queues
# behind syncobjs, parked waits that get interrupted, big copies on
# workers, two files, releases. Deterministic; rerun after changing an
# input format and commit the result. crash-* files are left alone.
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = 4096

# ---- ioctl harness ----------------------------------------------------------

QUERY, CLIENT_INIT, VM_CREATE, VM_DESTROY, BO_CREATE, BO_IMPORT, BO_DESTROY, \
    BO_PREAD, BO_PWRITE, VM_BIND, EXEC, WAIT, SYNCOBJ_CREATE, SYNCOBJ_DESTROY, \
    SYNCOBJ_WAIT, STATS, COMPLETION_PAGE = range(17)
NABI = 17
SETTLE, WRITE, INTERRUPT, RAW, SWITCH, RELEASE, MM = range(NABI, NABI + 7)

CLEAN, HANDLE, PTR, TIME, SHAPE, CUSE, PREINT, FOREIGN = (1 << i for i in range(8))
STD = CLEAN | HANDLE | PTR | TIME

# Region picks of the harness's confine(): bits 56..63 mod the regions allowed.
PRIV, SHARED = 0, 1 << 56

MAP_BO, MAP_USERPTR, UNMAP = 0, 1, 2


def op(nr, fix, body=b''):
    return bytes([nr, fix]) + body


def u64s(*v):
    return struct.pack('<%dQ' % len(v), *v)


def client_init(fix=STD):
    return op(CLIENT_INIT, fix, struct.pack('<QII', 0, 0, 0) + u64s(0, 0))


def vm_create(flags=0):
    return op(VM_CREATE, STD, struct.pack('<QII', 0, flags, 0) + u64s(0, 0))


def destroy(nr, h=0):
    return op(nr, STD, struct.pack('<QII', 0, h, 0) + u64s(0, 0))


def bo_create(size):
    return op(BO_CREATE, STD, struct.pack('<QQII', 0, size, 0, 0) + u64s(0, 0))


def bo_import(offset, size):
    return op(BO_IMPORT, STD, struct.pack('<QIIQQII', 0, 0, 0, offset, size, 0, 0) +
              u64s(0, 0))


def bo_rw(nr, size, offset=0, data=PRIV, h=0, fix=STD):
    return op(nr, fix, struct.pack('<QIIQQQ', 0, h, 0, offset, size, data) + u64s(0, 0))


def bind_op(kind, va, rng, obj_offset=0, handle=0, flags=0):
    return struct.pack('<QIIQQQII', 0, kind, flags, va, rng, obj_offset, handle, 0) + \
        u64s(0, 0)


def sync(handle, signal, timeline=0):
    return struct.pack('<QIIIIQ', 0, 1 if timeline else 0, 1 if signal else 0, handle, 0,
                       timeline) + u64s(0, 0)


def vm_bind(ops, syncs=(), vm=0, fix=STD):
    inline = ops[0] if len(ops) == 1 else bytes(64)
    body = struct.pack('<QII', 0, vm, len(ops)) + inline + \
        struct.pack('<QIIQ', 0, len(syncs), 0, 0) + u64s(0, 0)
    arrays = (b''.join(ops) if len(ops) > 1 else b'') + b''.join(syncs)
    return op(VM_BIND, fix, body + arrays)


def exec_(batch_va, batch_len, syncs=(), engine=0, vm=0, fix=STD):
    body = struct.pack('<QIIQIIQQ', 0, vm, engine, batch_va, batch_len, len(syncs), 0, 0) + \
        u64s(0, 0)
    return op(EXEC, fix, body + b''.join(syncs))


def wait(fence_pick=0, timeout=1):
    # FIX_TIME: timeout & 3 -> 0 poll, 1 forever, 2 soon, 3 passed
    return op(WAIT, STD, struct.pack('<QQqiI', 0, fence_pick, timeout, 0, 0) + u64s(0, 0))


def syncobj_create(flags=0):
    return op(SYNCOBJ_CREATE, STD, struct.pack('<QII', 0, flags, 0) + u64s(0, 0))


def syncobj_wait(h, point=0, timeout=1):
    return op(SYNCOBJ_WAIT, STD, struct.pack('<QIIQq', 0, h, 0, point, timeout) + u64s(0, 0))


def completion_page():
    return op(COMPLETION_PAGE, STD, struct.pack('<QII', 0, 0, 0) + u64s(0, 0))


def settle(v=15):
    return op(SETTLE, 0, bytes([v]))


def write(shared, offset, data):
    assert offset % 4 == 0 and len(data) < 256
    return op(WRITE, 0, struct.pack('<BHB', 1 if shared else 0, offset // 4, len(data)) + data)


def interrupt(k=0):
    return op(INTERRUPT, 0, bytes([k]))


def release(no_interrupt=0):
    return op(RELEASE, 0, bytes([no_interrupt]))


def mm(kind, shared, first, pages):
    # kind 0 madvise DONTNEED, 1 mmap MAP_FIXED over it, 2 mprotect RO and back
    return op(MM, 0, struct.pack('<BBHB', kind, shared, first, pages - 1))


def raw(cmd, flags, in_size, out_size, data=b'', fix=0):
    return op(RAW, fix, struct.pack('<IBHH', cmd, flags, in_size, out_size) +
              data.ljust(in_size, b'\0'))


# ISA (uapi/ugpu_isa.h)
def hdr(opc, flags, n):
    return struct.pack('<I', (opc << 24) | (flags << 16) | n)


def store(va, v):
    return hdr(2, 0, 4) + struct.pack('<III', va & 0xffffffff, va >> 32, v)


def fill(va, size, v):
    return hdr(3, 0, 6) + struct.pack('<IIIII', va & 0xffffffff, va >> 32, size, 0, v)


def copy(dst, src, size):
    return hdr(4, 0, 7) + struct.pack('<IIIIII', dst, 0, src, 0, size, 0)


def checksum(dst, src, size):
    return hdr(5, 0, 7) + struct.pack('<IIIIII', dst, 0, src, 0, size, 0)


def sem_wait(va, v, cmp=0):
    return hdr(6, cmp, 4) + struct.pack('<III', va, 0, v)


def timestamp(va):
    return hdr(7, 0, 3) + struct.pack('<II', va, 0)


def add_u32(dst, a, b, n):
    return hdr(0x10, 0, 8) + struct.pack('<IIIIIII', dst, 0, a, 0, b, 0, n)


def saxpy(y, x, n, a=0x3f800000):
    return hdr(0x11, 0, 7) + struct.pack('<IIIIII', y, 0, x, 0, n, a)


END = hdr(1, 0, 1)

ALU = store(0x1000, 7) + fill(0x1100, 64, 0x01020304) + copy(0x1200, 0x1100, 64) + \
    checksum(0x1300, 0x1200, 64) + timestamp(0x1308) + add_u32(0x1400, 0x1100, 0x1200, 16) + \
    saxpy(0x1500, 0x1100, 16) + END
COPY_ENGINE = store(0x1000, 9) + fill(0x1100, 32, 5) + copy(0x1200, 0x1100, 32) + END
HANG = sem_wait(0x1000, 0x12345678) + END          # never true: the hang timeout
FAULT = store(0x100000, 1) + END                    # nothing mapped there


def ioctl_seeds():
    s = {}
    # A BO batch: write it to client memory, pwrite it in, bind, run, read back.
    s['bo-exec'] = (bo_create(2 * PAGE) + vm_create() + write(0, 0, ALU) +
                    bo_rw(BO_PWRITE, len(ALU)) + vm_bind([bind_op(MAP_BO, 0, 2 * PAGE)]) +
                    exec_(0, len(ALU)) + settle() + wait(0, 2) +
                    bo_rw(BO_PREAD, 2 * PAGE, data=PRIV + 0x8000) + op(STATS, CLEAN) +
                    op(QUERY, CLEAN))
    s['copy-engine'] = (bo_create(2 * PAGE) + vm_create() + write(0, 0, COPY_ENGINE) +
                        bo_rw(BO_PWRITE, len(COPY_ENGINE)) +
                        vm_bind([bind_op(MAP_BO, 0, 2 * PAGE)]) +
                        exec_(0, len(COPY_ENGINE), engine=1) +
                        exec_(0, len(ALU), engine=1) + settle() + wait(0, 1) + wait(1, 0))
    # Userptr on private memory (DMA port) and on the shared memfd (map_files).
    for name, region, shared in (('userptr-private', PRIV, 0), ('userptr-shared', SHARED, 1)):
        s[name] = (client_init() + vm_create() + write(shared, 0, ALU) +
                   vm_bind([bind_op(MAP_USERPTR, 0, 4 * PAGE, region)]) +
                   exec_(0, len(ALU)) + settle() + wait(0, 1) +
                   vm_bind([bind_op(UNMAP, PAGE, PAGE)]) + exec_(0, len(ALU)) + settle() +
                   wait(1, 1) + vm_bind([bind_op(MAP_USERPTR, 0, 2 * PAGE, region,
                                                 flags=3)]) +
                   exec_(0, len(ALU)) + settle() + wait(2, 1))
    # The client changes memory under its userptrs: events, revalidation.
    for name, region, shared in (('invalidate-private', PRIV, 0),
                                 ('invalidate-shared', SHARED, 1)):
        s[name] = (client_init() + vm_create() + write(shared, 0, ALU) +
                   vm_bind([bind_op(MAP_USERPTR, 0, 4 * PAGE, region)]) +
                   exec_(0, len(ALU)) + mm(0, shared, 1, 1) + exec_(0, len(ALU)) +
                   settle() + wait(1, 1) + mm(1, shared, 0, 4) + write(shared, 0, ALU) +
                   exec_(0, len(ALU)) + mm(2, shared, 1, 2) + exec_(0, len(ALU)) +
                   settle() + wait(2, 1) + wait(3, 1) + mm(1, shared, 2, 2))
    s['invalidate-fault-mode'] = (client_init() + vm_create(1) + write(0, 0, HANG) +
                                  vm_bind([bind_op(MAP_USERPTR, 0, 4 * PAGE, PRIV)]) +
                                  exec_(0, len(HANG)) + settle(2) + mm(1, 0, 0, 2) +
                                  settle() + wait(0, 1))
    # Fault mode: a userptr running into the guard page.
    s['fault-mode'] = (client_init() + vm_create(1) + write(0, 0x3e000, ALU) +
                       vm_bind([bind_op(MAP_USERPTR, 0, 2 * PAGE, PRIV + 0x3e000)]) +
                       exec_(0, len(ALU)) + settle() + wait(0, 1) +
                       vm_bind([bind_op(MAP_USERPTR, 0x10000, 4 * PAGE, PRIV + 0x3f000)]) +
                       exec_(0x10000, 8) + settle() + wait(1, 1))
    # Bind queue: exec signals A; a bind waits for A and signals B; exec waits for B.
    s['syncobj-bindq'] = (syncobj_create() + syncobj_create() + bo_create(4 * PAGE) +
                          vm_create() + write(0, 0, HANG) + bo_rw(BO_PWRITE, len(HANG)) +
                          vm_bind([bind_op(MAP_BO, 0, 2 * PAGE)]) +
                          exec_(0, len(HANG), [sync(0, 1)]) +
                          vm_bind([bind_op(MAP_BO, 2 * PAGE, 2 * PAGE, 2 * PAGE)],
                                  [sync(0, 0), sync(1, 1)]) +
                          vm_bind([bind_op(UNMAP, 2 * PAGE, PAGE)]) +
                          exec_(0, len(HANG), [sync(1, 0)]) + syncobj_wait(1, 0, 2) +
                          syncobj_wait(0, 0, 1) + settle() + settle() + wait(0, 1) +
                          interrupt(0) + settle())
    s['timeline'] = (syncobj_create(1) + syncobj_create() + bo_create(2 * PAGE) + vm_create() +
                     write(0, 0, ALU) + bo_rw(BO_PWRITE, len(ALU)) +
                     vm_bind([bind_op(MAP_BO, 0, 2 * PAGE)]) +
                     exec_(0, len(ALU), [sync(0, 0), sync(1, 1, 3)]) +
                     exec_(0, len(ALU), [sync(1, 0, 2), sync(1, 1, 5)]) +
                     syncobj_wait(1, 4, 2) + settle() + op(SYNCOBJ_DESTROY, STD, bytes(32)))
    # Imports and the completion page share the harness's sealed memfd.
    # (the completion page is the memfd's first page: the batch goes after it)
    s['import-cpage'] = (completion_page() + bo_import(4 * PAGE, 4 * PAGE) + vm_create() +
                         write(1, 4 * PAGE, ALU) + vm_bind([bind_op(MAP_BO, 0, 4 * PAGE)]) +
                         exec_(0, len(ALU)) + settle() + wait(0, 0) +
                         destroy(BO_DESTROY) + destroy(VM_DESTROY))
    # A hanging job, a parked wait, an interrupt, a release with work in flight.
    s['hang-interrupt'] = (bo_create(2 * PAGE) + vm_create() + write(0, 0, HANG) +
                           bo_rw(BO_PWRITE, len(HANG)) +
                           vm_bind([bind_op(MAP_BO, 0, 2 * PAGE)]) + exec_(0, len(HANG)) +
                           exec_(0, len(FAULT)) + wait(0, 1) + wait(1, 2) + interrupt(0) +
                           settle(2) + destroy(VM_DESTROY) + release())
    # Two files of one process, each with its objects; one released early.
    s['two-files'] = (client_init() + vm_create() + op(SWITCH, 0) + client_init() +
                      vm_create() + bo_create(PAGE) + op(SWITCH, 0) + write(0, 0, ALU) +
                      vm_bind([bind_op(MAP_USERPTR, 0, 2 * PAGE, PRIV)]) +
                      exec_(0, len(ALU)) + wait(0, 1) + release(1) + vm_create() +
                      op(SWITCH, 0) + op(STATS, CLEAN))
    # Copies above 256 KiB run on workers; interrupted and released meanwhile.
    s['big-copy'] = (bo_create(512 * 1024) + bo_rw(BO_PWRITE, 300 * 1024) +
                     bo_rw(BO_PREAD, 400 * 1024, data=PRIV) + interrupt(0) +
                     bo_rw(BO_PWRITE, 256 * 1024 + 4) + release() + settle())
    # Several ops in one bind, from the array in client memory.
    s['bind-array'] = (bo_create(8 * PAGE) + vm_create() + client_init() +
                       vm_bind([bind_op(MAP_BO, 0, 8 * PAGE), bind_op(UNMAP, 2 * PAGE, PAGE),
                                bind_op(MAP_BO, 2 * PAGE, PAGE, 7 * PAGE, flags=1),
                                bind_op(MAP_USERPTR, 16 * PAGE, 3 * PAGE, PRIV + PAGE)]) +
                       vm_bind([bind_op(UNMAP, 0, 32 * PAGE)]) + op(STATS, CLEAN))
    # The transport: the CUSE retry round, foreign callers, raw commands.
    s['transport'] = (op(QUERY, CLEAN | CUSE, bytes(72)) + vm_create() +
                      op(VM_DESTROY, CLEAN | HANDLE | CUSE, bytes(32)) +
                      op(VM_CREATE, CLEAN | FOREIGN, bytes(32)) +
                      bo_rw(BO_PWRITE, 8, fix=STD | FOREIGN) +
                      raw(0xc0487500, 0, 72, 72) + raw(0xc0487500, 2, 0, 0) +
                      raw(0x40207503, 0, 32, 0) + raw(0x80207503, 0, 0, 32) +
                      raw(0xc0087510, 0, 8, 8) + raw(0x12345678, 0, 0, 0, fix=1))
    s['errors'] = (vm_create(2) + bo_create(3) + bo_create(0) + destroy(VM_DESTROY, 99) +
                   wait(0, 0) + syncobj_wait(5) +
                   vm_bind([bind_op(MAP_BO, 1, PAGE)]) +
                   exec_(2, 6) + op(CLIENT_INIT, CLEAN, struct.pack('<QII', 0, 1, 0) +
                                   u64s(0, 0)))
    return s

# ---- va_space harness --------------------------------------------------------


def va_seeds():
    def m(start, pages, obj=0, off=0, flags=0, ctl=0):
        return struct.pack('<BBHHBHB', 0, ctl, start, pages, obj, off, flags)

    def u(start, pages, ctl=0):
        return struct.pack('<BBHHBHB', 1, ctl, start, pages, 0, 0, 0)

    def edge(is_map, va, size, off, ctl=0):
        return struct.pack('<BBBQQQB', 2, ctl, is_map, va, size, off, 0)

    def look(va, size):
        return struct.pack('<BBQQ', 3, 0, va, size)

    return {
        'split-merge': bytes([0]) + m(0, 8) + m(2, 3, 1) + u(1, 1) + m(0, 16, 2) +
        u(4, 8) + look(0, 1 << 16),
        'aborts-enomem': bytes([1]) + m(0, 4, ctl=1) + m(0, 4, ctl=2) + m(8, 8) +
        m(10, 2, ctl=2 | (1 << 2)) + u(9, 3, ctl=2 | (2 << 2)),
        'edges': bytes([4]) + edge(1, 0, 0, 0) + edge(1, 1, 4096, 0) +
        edge(0, 0xfffffffffffff000, 0x2000, 0) + edge(1, 0, 4096, 0xfffffffffffff000) +
        look(0xffffffffffffffff, 2),
    }

# ---- front harness -----------------------------------------------------------


def front_seeds():
    def o(err=0, fail=0):
        return bytes([0, err, fail])

    def io(f, cmd, flags=0, mode=0x80, action=0, preint=0, data=b''):
        return struct.pack('<BBIBBBB', 1, f, cmd, flags, mode, action, preint) + data

    def comp(k=0, v=0):
        return bytes([2, k, v])

    return {
        'park-complete': o() + io(0, 11, action=2, data=bytes(48)) + comp() +
        io(0, 11, action=2, data=bytes(48)) + bytes([3, 0]) + comp() + bytes([4]),
        'interrupt-release': o() + o() + io(1, 10, action=2, preint=1, data=bytes(64)) +
        io(0, 0, action=2) + bytes([3, 0, 5, 0, 4, 6]),
        'checks': o(3) + o(0, 1) + o() + io(0, 0xc0087500, mode=2, data=bytes(8)) +
        io(0, 9, mode=1) + io(0, 9, action=1) + io(0, 4, action=3),
    }


def main():
    for name, seeds in (('ioctl', ioctl_seeds()), ('va_space', va_seeds()),
                        ('front', front_seeds())):
        d = os.path.join(HERE, 'corpus', name)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith('seed-'):
                os.unlink(os.path.join(d, f))
        for k, v in seeds.items():
            with open(os.path.join(d, 'seed-' + k), 'wb') as f:
                f.write(v)


if __name__ == '__main__':
    main()
