/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libbootscope.so: a QEMU TCG plugin that streams every executed instruction of a guest (vCPU, translated
 * instruction id, the core registers that changed), every memory write (address, size, value) and each
 * translated instruction's bytes once, in the binary format of plugin/FORMAT.md, to a file, FIFO, inherited
 * fd or Unix socket. Writes block when the reader falls behind, which pauses the guest: nothing is dropped.
 * Record windows (start/stop at a pc or an instruction count) keep the plugin to counting outside them.
 *
 *   qemu-system-aarch64 ... -plugin plugin/build/libbootscope.so,out=fd:3[,start_pc=0x..][,stop_count=N]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qemu-plugin-api.h"

/* The API version this plugin is built for; tests build a wrong one with -DBOOTSCOPE_PLUGIN_VERSION=99. */
#ifndef BOOTSCOPE_PLUGIN_VERSION
#define BOOTSCOPE_PLUGIN_VERSION 4
#endif
/* API 4 is the first with qemu_plugin_mem_get_value and qemu_plugin_read_memory_vaddr (QEMU 9.2). */
#define BOOTSCOPE_MIN_QEMU_API 4

BOOTSCOPE_EXPORT int qemu_plugin_version = BOOTSCOPE_PLUGIN_VERSION;

/* Stream format (plugin/FORMAT.md). */
#define FORMAT_VERSION 1
#define REC_REGS 0x01
#define REC_INSN 0x02
#define REC_EXEC 0x03
#define REC_MEMW 0x04
#define REC_WINDOW_START 0x05
#define REC_WINDOW_STOP 0x06
#define REC_END 0x07

#define WINDOW_REASON_RUN_START 0
#define WINDOW_REASON_PC 1
#define WINDOW_REASON_COUNT 2

#define MAX_VCPUS 256
#define MAX_REGS 64
#define MAX_REG_SIZE 16
#define MAX_INSN_SIZE 16
#define DEFAULT_BUFFER_SIZE (1u << 20)

/* ---- output: one buffer, one lock, blocking writes ---------------------------------------------------- */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int out_fd = -1;
static char *out_spec;
static uint8_t *out_buf;
static size_t out_cap = DEFAULT_BUFFER_SIZE;
static size_t out_used;
static long pipe_size = 1 << 20;

static void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fatal(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "bootscope plugin: %s\n", msg);
    /* _exit: QEMU's atexit handlers would call back into this plugin while out_lock may be held. */
    _exit(3);
}

/* Writes all of buf, waiting as long as the reader needs: a full pipe or socket blocks here (the guest
 * pauses), never drops. Called with out_lock held. */
static void write_all(const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(out_fd, p, n);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            fatal("writing the capture stream to %s failed: %s (the reader went away?); stopping QEMU",
                  out_spec, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
}

static void flush_locked(void)
{
    if (out_used > 0) {
        write_all(out_buf, out_used);
        out_used = 0;
    }
}

static void emit_locked(const void *rec, size_t n)
{
    if (out_used + n > out_cap) {
        flush_locked();
    }
    if (n > out_cap) {
        write_all(rec, n);
        return;
    }
    memcpy(out_buf + out_used, rec, n);
    out_used += n;
}

static void emit(const void *rec, size_t n)
{
    pthread_mutex_lock(&out_lock);
    emit_locked(rec, n);
    pthread_mutex_unlock(&out_lock);
}

static void flush(void)
{
    pthread_mutex_lock(&out_lock);
    flush_locked();
    pthread_mutex_unlock(&out_lock);
}

static inline uint8_t *put_u8(uint8_t *p, uint8_t v) { *p = v; return p + 1; }
static inline uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}
static inline uint8_t *put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}
static inline uint8_t *put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); return p + 2; }

/* "fd:N" (an inherited descriptor), "unix:PATH" (connect to a listening stream socket) or a file path
 * (created/truncated; a FIFO blocks here until its reader opens it). */
static int open_output(const char *spec)
{
    if (strncmp(spec, "fd:", 3) == 0) {
        char *end;
        long fd = strtol(spec + 3, &end, 10);
        if (*end != '\0' || fd < 0 || fcntl((int)fd, F_GETFD) < 0) {
            return -1;
        }
        return (int)fd;
    }
    if (strncmp(spec, "unix:", 5) == 0) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(spec + 5) >= sizeof sa.sun_path) {
            errno = ENAMETOOLONG;
            return -1;
        }
        strcpy(sa.sun_path, spec + 5);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
            int e = errno;
            if (s >= 0) close(s);
            errno = e;
            return -1;
        }
        return s;
    }
    return open(spec, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

/* ---- registers ---------------------------------------------------------------------------------------- */

/* The core set per target: general registers, stack pointer and the status register (which gives the
 * exception level or mode). The pc is not read: every EXEC record names its instruction, whose pc is in
 * the INSN record. */
static const char *const core_aarch64[] = {
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
    "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30",
    "sp", "cpsr", NULL,
};
static const char *const core_arm[] = {
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp", "lr", "cpsr", NULL,
};

struct vcpu_state {
    int nregs;
    struct qemu_plugin_register *handle[MAX_REGS];
    uint8_t size[MAX_REGS];
    uint8_t prev[MAX_REGS][MAX_REG_SIZE];
    bool have_prev;     /* false until the first recorded instruction: it carries every register */
    GByteArray *scratch;
};

/* The registers recorded: the core set, then any `regs_extra=` names (NULL-terminated). */
static const char **core_regs;
static bool target_aarch64;
/* DC ZVA zeroes a block (DCZID_EL0: 4 << BS bytes) without a memory callback from QEMU: the plugin writes
 * its MEMW records itself. 64 bytes unless QEMU exposes DCZID_EL0 to plugins. */
static unsigned dc_zva_block = 64;
static char target_name[32];
static struct vcpu_state *vcpus;
static int max_vcpus;
static int vcpus_seen;

/* Per-vCPU scoreboard: the instruction counter (inline add, before every instruction's callbacks) and the
 * recording flag the record callback is conditional on. */
struct vcpu_score {
    uint64_t executed;
    uint64_t recording;
};
static struct qemu_plugin_scoreboard *score;
static qemu_plugin_u64 sb_executed;
static qemu_plugin_u64 sb_recording;
/* The same flag as a plain array for the store callback, which runs on every store even outside the window
 * (API 4 has no conditional memory callback): one load and return, no call back into QEMU. */
static volatile uint8_t recording_now[MAX_VCPUS];

/* ---- record windows --------------------------------------------------------------------------------- */

enum window_state { WINDOW_WAITING, WINDOW_OPEN, WINDOW_CLOSED };
static enum window_state window = WINDOW_WAITING;
static bool have_start_pc, have_start_count, have_stop_pc, have_stop_count, exit_on_stop;
/* pc triggers are half-open ranges [lo, hi): start_pc=ADDR is [ADDR, ADDR+1), start_pc=LO:HI a stage's range */
static uint64_t start_pc, start_pc_end, start_count, stop_pc, stop_pc_end, stop_count;

static void emit_window_locked(uint8_t type, unsigned vcpu, uint8_t reason, uint64_t executed_before)
{
    uint8_t rec[11], *p = rec;
    p = put_u8(p, type);
    p = put_u8(p, (uint8_t)vcpu);
    p = put_u8(p, reason);
    p = put_u64(p, executed_before);
    emit_locked(rec, (size_t)(p - rec));
}

/* Opens (or closes) the window for every vCPU. `vcpu` is the one that hit the trigger: its counter already
 * includes the triggering instruction; the others are between instructions. */
static void set_window(enum window_state to, unsigned vcpu, uint8_t reason)
{
    pthread_mutex_lock(&out_lock);
    /* stop_count is an absolute instruction number: reached before the window opened, it ends the run
     * with nothing recorded. A stop pc only closes an open window (the pc may run before the start too). */
    bool closes = window == WINDOW_OPEN || (window == WINDOW_WAITING && reason == WINDOW_REASON_COUNT);
    if ((to == WINDOW_OPEN && window != WINDOW_WAITING) || (to == WINDOW_CLOSED && !closes)) {
        pthread_mutex_unlock(&out_lock);
        return;
    }
    window = to;
    for (int i = 0; i < vcpus_seen; i++) {
        uint64_t executed = qemu_plugin_u64_get(sb_executed, (unsigned)i);
        if ((unsigned)i == vcpu && executed > 0) {
            executed--;
        }
        qemu_plugin_u64_set(sb_recording, (unsigned)i, to == WINDOW_OPEN);
        recording_now[i] = to == WINDOW_OPEN;
        emit_window_locked(to == WINDOW_OPEN ? REC_WINDOW_START : REC_WINDOW_STOP, (unsigned)i,
                           (unsigned)i == vcpu ? reason : WINDOW_REASON_RUN_START, executed);
    }
    if (to == WINDOW_CLOSED) {
        flush_locked();
    }
    pthread_mutex_unlock(&out_lock);
    if (to == WINDOW_CLOSED && exit_on_stop) {
        exit(0); /* like semihosting's SYS_EXIT: QEMU's atexit handlers (and ours, writing END) run */
    }
}

static void on_start_trigger(unsigned vcpu, void *udata)
{
    set_window(WINDOW_OPEN, vcpu, (uint8_t)(uintptr_t)udata);
}

static void on_stop_trigger(unsigned vcpu, void *udata)
{
    set_window(WINDOW_CLOSED, vcpu, (uint8_t)(uintptr_t)udata);
}

/* ---- translated instructions --------------------------------------------------------------------------- */

struct insn_def {
    uint64_t pc;
    uint32_t id;
    uint8_t size;
    uint8_t bytes[MAX_INSN_SIZE];
};

static GHashTable *insn_defs; /* (pc, bytes) -> insn_def; guarded by out_lock */
static uint32_t next_insn_id;

static guint insn_def_hash(gconstpointer key)
{
    const struct insn_def *d = key;
    guint h = (guint)(d->pc ^ (d->pc >> 32)) * 2654435761u;
    for (int i = 0; i < d->size; i++) h = h * 31 + d->bytes[i];
    return h;
}

static gboolean insn_def_equal(gconstpointer a, gconstpointer b)
{
    const struct insn_def *x = a, *y = b;
    return x->pc == y->pc && x->size == y->size && memcmp(x->bytes, y->bytes, x->size) == 0;
}

/* The definition for (pc, bytes), emitting an INSN record the first time: re-translations of the same code
 * (TB flushes, icount re-translation) reuse the id, so the stream carries each instruction's bytes once. */
static struct insn_def *intern_insn(const struct qemu_plugin_insn *insn)
{
    struct insn_def key = { .pc = qemu_plugin_insn_vaddr(insn) };
    size_t size = qemu_plugin_insn_size(insn);
    if (size > MAX_INSN_SIZE) size = MAX_INSN_SIZE;
    key.size = (uint8_t)qemu_plugin_insn_data(insn, key.bytes, size);

    pthread_mutex_lock(&out_lock);
    struct insn_def *d = g_hash_table_lookup(insn_defs, &key);
    if (!d) {
        d = g_new(struct insn_def, 1);
        *d = key;
        d->id = next_insn_id++;
        g_hash_table_insert(insn_defs, d, d);
        uint8_t rec[2 + 4 + 8 + MAX_INSN_SIZE], *p = rec;
        p = put_u8(p, REC_INSN);
        p = put_u8(p, d->size);
        p = put_u32(p, d->id);
        p = put_u64(p, d->pc);
        memcpy(p, d->bytes, d->size);
        p += d->size;
        emit_locked(rec, (size_t)(p - rec));
    }
    pthread_mutex_unlock(&out_lock);
    return d;
}

/* ---- per-instruction and per-store callbacks -------------------------------------------------------- */

/* Runs before the instruction executes (registers = state before it, like a gdbstub step's `g`). */
static void on_exec(unsigned vcpu, void *udata)
{
    const struct insn_def *d = udata;
    struct vcpu_state *v = &vcpus[vcpu];
    uint8_t rec[3 + 4 + MAX_REGS * (1 + MAX_REG_SIZE)], *p = rec + 3;
    uint8_t changed = 0;

    p = put_u32(p, d->id);
    for (int i = 0; i < v->nregs; i++) {
        g_byte_array_set_size(v->scratch, 0);
        int n = qemu_plugin_read_register(v->handle[i], v->scratch);
        if (n != v->size[i]) {
            fatal("reading register %s of vCPU %u returned %d bytes, expected %u", core_regs[i], vcpu, n,
                  v->size[i]);
        }
        if (!v->have_prev || memcmp(v->prev[i], v->scratch->data, (size_t)n) != 0) {
            memcpy(v->prev[i], v->scratch->data, (size_t)n);
            *p++ = (uint8_t)i;
            memcpy(p, v->scratch->data, (size_t)n);
            p += n;
            changed++;
        }
    }
    v->have_prev = true;
    rec[0] = REC_EXEC;
    rec[1] = (uint8_t)vcpu;
    rec[2] = changed;
    emit(rec, (size_t)(p - rec));
}

/* Runs after a store: the value is what landed in memory. Written in memory byte order so a reader
 * replays it as "these bytes at this address". */
static void on_store(unsigned vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
    (void)udata;
    if (!recording_now[vcpu]) {
        return;
    }
    unsigned size = 1u << qemu_plugin_mem_size_shift(info);
    qemu_plugin_mem_value v = qemu_plugin_mem_get_value(info);
    uint8_t value[16];
    uint64_t lo, hi = 0;
    switch (v.type) {
    case QEMU_PLUGIN_MEM_VALUE_U8: lo = v.data.u8; break;
    case QEMU_PLUGIN_MEM_VALUE_U16: lo = v.data.u16; break;
    case QEMU_PLUGIN_MEM_VALUE_U32: lo = v.data.u32; break;
    case QEMU_PLUGIN_MEM_VALUE_U64: lo = v.data.u64; break;
    default: lo = v.data.u128.low; hi = v.data.u128.high; break;
    }
    if (size > 16) size = 16;
    for (unsigned i = 0; i < size; i++) {
        value[i] = (uint8_t)(i < 8 ? lo >> (8 * i) : hi >> (8 * (i - 8)));
    }
    if (qemu_plugin_mem_is_big_endian(info)) {
        for (unsigned i = 0; i < size / 2; i++) {
            uint8_t t = value[i];
            value[i] = value[size - 1 - i];
            value[size - 1 - i] = t;
        }
    }
    uint8_t rec[3 + 8 + 16], *p = rec;
    p = put_u8(p, REC_MEMW);
    p = put_u8(p, (uint8_t)vcpu);
    p = put_u8(p, (uint8_t)size);
    p = put_u64(p, vaddr);
    memcpy(p, value, size);
    p += size;
    emit(rec, (size_t)(p - rec));
}

/* DC ZVA Xt: runs after on_exec (whose EXEC it belongs to), so Xt's value is in the vCPU's registers. */
static void on_dc_zva(unsigned vcpu, void *udata)
{
    unsigned rt = (unsigned)(uintptr_t)udata;
    struct vcpu_state *v = &vcpus[vcpu];
    uint64_t xt = 0;
    if (rt < 31) {
        for (int i = 0; i < 8 && i < v->size[rt]; i++) xt |= (uint64_t)v->prev[rt][i] << (8 * i);
    }
    uint64_t base = xt & ~(uint64_t)(dc_zva_block - 1);
    pthread_mutex_lock(&out_lock);
    for (unsigned off = 0; off < dc_zva_block; off += 16) {
        uint8_t rec[3 + 8 + 16] = { REC_MEMW, (uint8_t)vcpu, 16 };
        put_u64(rec + 3, base + off);
        emit_locked(rec, sizeof rec);
    }
    pthread_mutex_unlock(&out_lock);
}

static bool is_dc_zva(const struct insn_def *d, unsigned *rt)
{
    if (!target_aarch64 || d->size != 4) return false;
    uint32_t w = (uint32_t)d->bytes[0] | (uint32_t)d->bytes[1] << 8 | (uint32_t)d->bytes[2] << 16 | (uint32_t)d->bytes[3] << 24;
    *rt = w & 31;
    return (w & 0xffffffe0u) == 0xd50b7420u;
}

/* Instruments each instruction, in this order (QEMU runs an instruction's callbacks in registration
 * order): count it; window triggers; record it if the window is open; its stores after it runs. */
static void on_tb_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        struct insn_def *d = intern_insn(insn);

        qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64, sb_executed, 1);
        if (have_start_pc && d->pc >= start_pc && d->pc < start_pc_end) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start_trigger, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *)(uintptr_t)WINDOW_REASON_PC);
        }
        if (have_start_count) {
            /* executed counts this instruction already: start_count instructions ran before it */
            qemu_plugin_register_vcpu_insn_exec_cond_cb(insn, on_start_trigger, QEMU_PLUGIN_CB_NO_REGS,
                                                        QEMU_PLUGIN_COND_EQ, sb_executed, start_count + 1,
                                                        (void *)(uintptr_t)WINDOW_REASON_COUNT);
        }
        if (have_stop_pc && d->pc >= stop_pc && d->pc < stop_pc_end) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_stop_trigger, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *)(uintptr_t)WINDOW_REASON_PC);
        }
        if (have_stop_count) {
            qemu_plugin_register_vcpu_insn_exec_cond_cb(insn, on_stop_trigger, QEMU_PLUGIN_CB_NO_REGS,
                                                        QEMU_PLUGIN_COND_EQ, sb_executed, stop_count + 1,
                                                        (void *)(uintptr_t)WINDOW_REASON_COUNT);
        }
        qemu_plugin_register_vcpu_insn_exec_cond_cb(insn, on_exec, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_COND_EQ,
                                                    sb_recording, 1, d);
        qemu_plugin_register_vcpu_mem_cb(insn, on_store, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_W, NULL);
        unsigned rt;
        if (is_dc_zva(d, &rt)) {
            qemu_plugin_register_vcpu_insn_exec_cond_cb(insn, on_dc_zva, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_COND_EQ,
                                                        sb_recording, 1, (void *)(uintptr_t)rt);
        }
    }
}

/* ---- vCPU lifecycle and exit --------------------------------------------------------------------------- */

static void on_vcpu_init(qemu_plugin_id_t id, unsigned int vcpu)
{
    (void)id;
    if ((int)vcpu >= max_vcpus) {
        fatal("vCPU %u is beyond the %d this plugin was set up for", vcpu, max_vcpus);
    }
    struct vcpu_state *v = &vcpus[vcpu];
    GArray *regs = qemu_plugin_get_registers();
    v->scratch = g_byte_array_new();
    for (int want = 0; core_regs[want]; want++) {
        bool found = false;
        for (guint i = 0; i < regs->len && !found; i++) {
            qemu_plugin_reg_descriptor *r = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
            if (strcmp(r->name, core_regs[want]) == 0) {
                g_byte_array_set_size(v->scratch, 0);
                int size = qemu_plugin_read_register(r->handle, v->scratch);
                if (size <= 0 || size > MAX_REG_SIZE) {
                    fatal("register %s of vCPU %u reads as %d bytes", r->name, vcpu, size);
                }
                v->handle[want] = r->handle;
                v->size[want] = (uint8_t)size;
                found = true;
            }
        }
        if (!found) {
            fatal("QEMU (target %s) exposes no register named \"%s\" to plugins", target_name, core_regs[want]);
        }
        v->nregs = want + 1;
    }
    for (guint i = 0; target_aarch64 && i < regs->len; i++) {
        qemu_plugin_reg_descriptor *r = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
        if (g_ascii_strcasecmp(r->name, "DCZID_EL0") == 0) {
            g_byte_array_set_size(v->scratch, 0);
            if (qemu_plugin_read_register(r->handle, v->scratch) >= 1 && !(v->scratch->data[0] & 0x10)) {
                dc_zva_block = 4u << (v->scratch->data[0] & 0xf);
            }
        }
    }
    g_array_free(regs, TRUE);

    uint8_t rec[3 + MAX_REGS * (2 + 255)], *p = rec;
    p = put_u8(p, REC_REGS);
    p = put_u8(p, (uint8_t)vcpu);
    p = put_u8(p, (uint8_t)v->nregs);
    for (int i = 0; i < v->nregs; i++) {
        size_t len = strlen(core_regs[i]);
        p = put_u8(p, v->size[i]);
        p = put_u8(p, (uint8_t)len);
        memcpy(p, core_regs[i], len);
        p += len;
    }
    pthread_mutex_lock(&out_lock);
    emit_locked(rec, (size_t)(p - rec));
    if ((int)vcpu >= vcpus_seen) vcpus_seen = (int)vcpu + 1;
    if (!have_start_pc && !have_start_count) {
        /* no start trigger: the window is open from the first instruction */
        window = WINDOW_OPEN;
        qemu_plugin_u64_set(sb_recording, vcpu, 1);
        recording_now[vcpu] = 1;
        emit_window_locked(REC_WINDOW_START, vcpu, WINDOW_REASON_RUN_START, 0);
    }
    pthread_mutex_unlock(&out_lock);
}

/* A vCPU going idle (WFI) hands what is buffered to the reader, so a live view does not lag a quiet guest. */
static void on_vcpu_idle(qemu_plugin_id_t id, unsigned int vcpu)
{
    (void)id;
    (void)vcpu;
    flush();
}

static void on_qemu_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    pthread_mutex_lock(&out_lock);
    uint8_t rec[2 + MAX_VCPUS * 8], *p = rec;
    p = put_u8(p, REC_END);
    p = put_u8(p, (uint8_t)vcpus_seen);
    for (int i = 0; i < vcpus_seen; i++) {
        p = put_u64(p, qemu_plugin_u64_get(sb_executed, (unsigned)i));
    }
    emit_locked(rec, (size_t)(p - rec));
    flush_locked();
    pthread_mutex_unlock(&out_lock);
}

/* ---- install -------------------------------------------------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0') return false;
    *out = v;
    return true;
}

/* "ADDR" -> [ADDR, ADDR+1); "LO:HI" -> [LO, HI) */
static bool parse_pc_range(const char *s, uint64_t *lo, uint64_t *hi)
{
    const char *colon = strchr(s, ':');
    if (!colon) {
        return parse_u64(s, lo) && (*hi = *lo + 1, true);
    }
    char first[64];
    size_t n = (size_t)(colon - s);
    if (n == 0 || n >= sizeof first) return false;
    memcpy(first, s, n);
    first[n] = '\0';
    return parse_u64(first, lo) && parse_u64(colon + 1, hi) && *hi > *lo;
}

static int usage(const char *why)
{
    fprintf(stderr,
            "bootscope plugin: %s\n"
            "  arguments: out=PATH|fd:N|unix:PATH (required), start_pc=ADDR|LO:HI, start_count=N, stop_pc=ADDR|LO:HI,\n"
            "  stop_count=N, exit_on_stop=on|off, regs_extra=NAME:NAME..., buffer=BYTES, pipe=BYTES\n"
            "  (see plugin/README.md)\n",
            why);
    return -1;
}

BOOTSCOPE_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (info->version.cur < BOOTSCOPE_MIN_QEMU_API || info->version.min > BOOTSCOPE_PLUGIN_VERSION) {
        fprintf(stderr,
                "bootscope plugin: built for QEMU plugin API %d, but this QEMU accepts API %d..%d. "
                "Use QEMU 9.2 - 10.x (plugin API 4), e.g. the one scripts/qemu10.sh provisions.\n",
                BOOTSCOPE_PLUGIN_VERSION, info->version.min, info->version.cur);
        return -1;
    }
    if (!info->system_emulation) {
        return usage("needs system emulation (qemu-system-*), not user mode");
    }
    snprintf(target_name, sizeof target_name, "%s", info->target_name);
    if (strcmp(info->target_name, "aarch64") == 0) {
        core_regs = g_memdup2(core_aarch64, sizeof core_aarch64);
        target_aarch64 = true;
    } else if (strcmp(info->target_name, "arm") == 0) {
        core_regs = g_memdup2(core_arm, sizeof core_arm);
    } else {
        fprintf(stderr, "bootscope plugin: target %s is not supported (arm, aarch64)\n", info->target_name);
        return -1;
    }

    const char *out = NULL;
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) return usage("an argument without '='");
        size_t klen = (size_t)(eq - argv[i]);
        const char *val = eq + 1;
        bool ok = true;
        if (klen == 3 && strncmp(argv[i], "out", 3) == 0) {
            out = val;
        } else if (klen == 8 && strncmp(argv[i], "start_pc", 8) == 0) {
            ok = parse_pc_range(val, &start_pc, &start_pc_end) && (have_start_pc = true);
        } else if (klen == 11 && strncmp(argv[i], "start_count", 11) == 0) {
            ok = parse_u64(val, &start_count) && (have_start_count = true);
        } else if (klen == 7 && strncmp(argv[i], "stop_pc", 7) == 0) {
            ok = parse_pc_range(val, &stop_pc, &stop_pc_end) && (have_stop_pc = true);
        } else if (klen == 10 && strncmp(argv[i], "stop_count", 10) == 0) {
            ok = parse_u64(val, &stop_count) && (have_stop_count = true);
        } else if (klen == 12 && strncmp(argv[i], "exit_on_stop", 12) == 0) {
            ok = strcmp(val, "on") == 0 || strcmp(val, "off") == 0;
            exit_on_stop = strcmp(val, "on") == 0;
        } else if (klen == 10 && strncmp(argv[i], "regs_extra", 10) == 0) {
            /* NAME:NAME:... appended to the core set (e.g. fpsr:fpcr), in that order */
            gchar **names = g_strsplit(val, ":", -1);
            guint have = g_strv_length((gchar **)core_regs), extra = g_strv_length(names);
            ok = extra > 0 && have + extra <= MAX_REGS;
            if (ok) {
                core_regs = g_renew(const char *, core_regs, have + extra + 1);
                for (guint k = 0; k < extra; k++) {
                    ok = ok && names[k][0] != '\0' && strlen(names[k]) < 256;
                    core_regs[have + k] = names[k];
                }
                core_regs[have + extra] = NULL;
            }
        } else if (klen == 4 && strncmp(argv[i], "pipe", 4) == 0) {
            uint64_t b = 0;
            ok = parse_u64(val, &b) && b >= 4096 && b <= (1u << 30);
            pipe_size = (long)b;
        } else if (klen == 6 && strncmp(argv[i], "buffer", 6) == 0) {
            uint64_t b = 0;
            ok = parse_u64(val, &b) && b >= 4096 && b <= (1u << 30);
            out_cap = (size_t)b;
        } else {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown argument %.*s", (int)klen, argv[i]);
            return usage(msg);
        }
        if (!ok) {
            char msg[160];
            snprintf(msg, sizeof msg, "bad value in %s", argv[i]);
            return usage(msg);
        }
    }
    if (!out) return usage("out= is required");
    if (have_start_pc && have_start_count) return usage("give start_pc or start_count, not both");
    /* AArch32 Thumb symbols carry bit 0; instruction addresses never do. */
    if (strcmp(info->target_name, "arm") == 0) {
        if (start_pc_end == start_pc + 1) start_pc_end = (start_pc &= ~(uint64_t)1) + 1;
        if (stop_pc_end == stop_pc + 1) stop_pc_end = (stop_pc &= ~(uint64_t)1) + 1;
    }

    max_vcpus = info->system.max_vcpus;
    if (max_vcpus > MAX_VCPUS) {
        fprintf(stderr, "bootscope plugin: %d vCPUs; the stream format holds at most %d\n", max_vcpus, MAX_VCPUS);
        return -1;
    }
    out_fd = open_output(out);
    if (out_fd < 0) {
        fprintf(stderr, "bootscope plugin: cannot open out=%s: %s\n", out, strerror(errno));
        return -1;
    }
    out_spec = g_strdup(out);
#ifdef F_SETPIPE_SZ
    fcntl(out_fd, F_SETPIPE_SZ, pipe_size); /* fewer wake-ups of the reader; best effort (not a pipe: ignored) */
#endif
    out_buf = g_malloc(out_cap);
    vcpus = g_new0(struct vcpu_state, max_vcpus);
    insn_defs = g_hash_table_new(insn_def_hash, insn_def_equal);
    score = qemu_plugin_scoreboard_new(sizeof(struct vcpu_score));
    sb_executed = (qemu_plugin_u64){ score, offsetof(struct vcpu_score, executed) };
    sb_recording = (qemu_plugin_u64){ score, offsetof(struct vcpu_score, recording) };

    size_t name_len = strlen(info->target_name);
    uint8_t hdr[18 + 255], *p = hdr;
    memcpy(p, "BOOTSCOP", 8);
    p += 8;
    p = put_u16(p, FORMAT_VERSION);
    p = put_u16(p, (uint16_t)(18 + name_len));
    p = put_u16(p, BOOTSCOPE_PLUGIN_VERSION);
    p = put_u16(p, (uint16_t)info->version.cur);
    p = put_u8(p, (uint8_t)info->version.min);
    p = put_u8(p, (uint8_t)name_len);
    memcpy(p, info->target_name, name_len);
    p += name_len;
    emit(hdr, (size_t)(p - hdr));

    qemu_plugin_register_vcpu_init_cb(id, on_vcpu_init);
    qemu_plugin_register_vcpu_idle_cb(id, on_vcpu_idle);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_translate);
    qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
    return 0;
}
