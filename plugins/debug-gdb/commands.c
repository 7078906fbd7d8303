/* SPDX-License-Identifier: GPL-2.0-or-later */
/* GDB stub commands: what each packet does to the machine.  Harts are GDB threads
 * 1..N (hart index + 1).  The machine runs in all-stop mode: a stop of any hart (break,
 * step, Ctrl-C) pauses all of them, and resuming resumes all of them.
 *
 * Memory packets address guest *virtual* memory as the selected hart (Hg) sees it: each
 * page goes through mosaic_vcpu_virt_to_phys (the guest's page tables, when the
 * accelerator walks them; accel-kvm does), so `break start_kernel` and `x/i $pc` work in
 * a paging kernel.  Accelerators that do not translate leave addresses physical (right
 * for bare-metal programs and kernels before they enable paging).  Only RAM and ROM are
 * reachable: reading device registers could have side effects (a UART FIFO pop). */
#include "gdb-internal.h"
#include <string.h>

#define MAX_BREAKPOINTS 256

static unsigned ncpus(GdbStub *s) { return mosaic_machine_ncpus(s->m); }
static MosaicVcpu *cpu(GdbStub *s, unsigned i) { return mosaic_machine_vcpu(s->m, i); }

static gboolean stopped(GdbStub *s)
{
    MosaicRunState st = mosaic_machine_run_state(s->m);
    return st == MOSAIC_RUN_PAUSED || st == MOSAIC_RUN_PRELAUNCH;
}

/* "thread:N;" stop replies and thread ids: N = hart index + 1, hex. */
static void send_stop(GdbStub *s, int sig, unsigned hart)
{
    g_autofree char *r = g_strdup_printf("T%02xthread:%x;", sig, hart + 1);
    gdb_send(s, r);
}

/* A GDB thread id: -1 all, 0 any, else hart + 1.  *hart gets the hart for
 * "any"/"all" as the current one. */
static gboolean parse_thread(GdbStub *s, const char *p, unsigned cur, unsigned *hart)
{
    if (g_str_equal(p, "-1") || g_str_equal(p, "0")) {
        *hart = cur;
        return TRUE;
    }
    if (p[0] == 'p')
        return FALSE; /* multiprocess ids: not advertised */
    uint64_t t;
    if (!gdb_parse_hex(&p, &t) || *p || t == 0 || t > ncpus(s))
        return FALSE;
    *hart = (unsigned)t - 1;
    return TRUE;
}

static gboolean bp_known(GdbStub *s, uint64_t pc, guint *at)
{
    for (guint i = 0; i < s->bps->len; i++) {
        if (g_array_index(s->bps, uint64_t, i) == pc) {
            if (at)
                *at = i;
            return TRUE;
        }
    }
    return FALSE;
}

void gdb_release_target(GdbStub *s)
{
    if (!s->m)
        return;
    for (guint i = 0; i < s->bps->len; i++)
        mosaic_machine_breakpoint(s->m, g_array_index(s->bps, uint64_t, i), false);
    g_array_set_size(s->bps, 0);
    if (s->step_cpu >= 0)
        mosaic_vcpu_set_step(cpu(s, (unsigned)s->step_cpu), false);
    s->step_cpu = -1;
    s->waiting = FALSE;
    s->interrupted = FALSE;
}

void gdb_report_stop(GdbStub *s)
{
    int sig = 2; /* SIGINT: Ctrl-C, or paused by someone else (the monitor) */
    unsigned hart = s->c_cpu;
    if (s->step_cpu >= 0) {
        hart = (unsigned)s->step_cpu;
        mosaic_vcpu_set_step(cpu(s, hart), false);
        s->step_cpu = -1;
        sig = 5;
    } else if (!s->interrupted) {
        /* Which hart hit a breakpoint: the first whose pc is one of ours. */
        for (unsigned i = 0; i < ncpus(s); i++) {
            uint64_t pc;
            if (mosaic_vcpu_get_reg(cpu(s, i), s->target->pc_regno, &pc) && bp_known(s, pc, NULL)) {
                hart = i;
                sig = 5;
                break;
            }
        }
    }
    s->interrupted = FALSE;
    if (!s->waiting)
        return; /* not a reply anyone waits for (attach, detach races) */
    s->waiting = FALSE;
    s->g_cpu = s->c_cpu = hart; /* GDB switches to the thread that stopped */
    send_stop(s, sig, hart);
}

void gdb_report_exit(GdbStub *s, int code)
{
    if (!s->waiting)
        return;
    s->waiting = FALSE;
    g_autofree char *r = g_strdup_printf("W%02x", code & 0xff);
    gdb_send(s, r);
}

void gdb_handle_interrupt(GdbStub *s)
{
    if (mosaic_machine_run_state(s->m) != MOSAIC_RUN_RUNNING)
        return; /* already stopped: the stop reply is on its way or was sent */
    s->waiting = TRUE;
    s->interrupted = TRUE;
    mosaic_machine_pause(s->m); /* the STOP event sends T02 */
}

/* Resumes the machine for the client; `step` single-steps hart `hart` first. */
static void resume(GdbStub *s, gboolean step, unsigned hart)
{
    if (step) {
        if (!mosaic_vcpu_set_step(cpu(s, hart), true)) {
            gdb_send(s, "E01"); /* the accelerator cannot single-step */
            return;
        }
        s->step_cpu = (int)hart;
    }
    s->waiting = TRUE;
    s->interrupted = FALSE;
    mosaic_machine_resume(s->m);
    if (mosaic_machine_run_state(s->m) == MOSAIC_RUN_SHUTDOWN)
        gdb_report_exit(s, 0);
}

static void cmd_continue(GdbStub *s, const char *args, gboolean step)
{
    if (*args) { /* c ADDR / s ADDR: resume at ADDR */
        uint64_t addr;
        if (!gdb_parse_hex(&args, &addr) || *args ||
            !mosaic_vcpu_set_reg(cpu(s, s->c_cpu), s->target->pc_regno, addr)) {
            gdb_send(s, "E22");
            return;
        }
    }
    resume(s, step, s->c_cpu);
}

/* vCont;ACTION[:TID][;ACTION[:TID]]...: in all-stop mode every hart resumes; the one
 * named by an 's' action (or the current one for a bare 's') is stepped. */
static void cmd_vcont(GdbStub *s, const char *args)
{
    if (g_str_equal(args, "?")) {
        gdb_send(s, "vCont;c;C;s;S");
        return;
    }
    if (*args != ';') {
        gdb_send(s, "");
        return;
    }
    g_auto(GStrv) acts = g_strsplit(args + 1, ";", 64);
    if (!acts[0]) {
        gdb_send(s, "E22"); /* no action */
        return;
    }
    gboolean step = FALSE;
    unsigned step_hart = s->c_cpu;
    for (char **a = acts; *a; a++) {
        char kind = (*a)[0];
        const char *p = *a + 1;
        if (kind == 'C' || kind == 'S') {
            uint64_t sig;
            if (!gdb_parse_hex(&p, &sig)) { /* signals are ignored: no guest OS to deliver to */
                gdb_send(s, "E22");
                return;
            }
        } else if (kind != 'c' && kind != 's') {
            gdb_send(s, "E22");
            return;
        }
        unsigned hart = s->c_cpu;
        if (*p == ':') {
            if (!parse_thread(s, p + 1, s->c_cpu, &hart)) {
                gdb_send(s, "E22");
                return;
            }
        } else if (*p) {
            gdb_send(s, "E22");
            return;
        }
        if ((kind == 's' || kind == 'S') && !step) {
            step = TRUE;
            step_hart = hart;
        }
    }
    resume(s, step, step_hart);
}

/* Width of general register i in the 'g' packet: what the description says (x86-64:
 * eflags and the segment selectors are 32-bit), 8 bytes when the target has no answer. */
static unsigned general_bytes(GdbStub *s, unsigned i, unsigned *regno)
{
    *regno = i;
    if (!s->target->regno(i, regno))
        *regno = i;
    unsigned b = s->target->reg_bytes ? s->target->reg_bytes(*regno) : 8;
    return b >= 1 && b <= 8 ? b : 8;
}

static void cmd_read_regs(GdbStub *s)
{
    g_autoptr(GString) r = g_string_new(NULL);
    for (unsigned i = 0; i < s->target->ngeneral; i++) {
        uint64_t v;
        unsigned regno, bytes = general_bytes(s, i, &regno);
        if (mosaic_vcpu_get_reg(cpu(s, s->g_cpu), regno, &v))
            gdb_hex_append_le(r, v, bytes);
        else
            for (unsigned k = 0; k < 2 * bytes; k++)
                g_string_append_c(r, 'x'); /* unavailable */
    }
    gdb_send_len(s, r->str, r->len);
}

static void cmd_write_regs(GdbStub *s, const char *hex, gsize len)
{
    /* GDB may send fewer registers than the description has; whole ones only. */
    uint64_t vals[GDB_MAX_GENERAL];
    unsigned regnos[GDB_MAX_GENERAL];
    unsigned n = 0;
    gsize at = 0;
    while (at < len && n < s->target->ngeneral) {
        unsigned bytes = general_bytes(s, n, &regnos[n]);
        if (len - at < 2 * bytes || !gdb_hex_decode_le(hex + at, len - at, bytes, &vals[n])) {
            gdb_send(s, "E22");
            return;
        }
        at += 2 * bytes;
        n++;
    }
    if (at != len) {
        gdb_send(s, "E22");
        return;
    }
    for (unsigned i = 0; i < n; i++)
        mosaic_vcpu_set_reg(cpu(s, s->g_cpu), regnos[i], vals[i]);
    gdb_send(s, "OK");
}

static void cmd_read_reg(GdbStub *s, const char *args)
{
    uint64_t n, v;
    unsigned r;
    if (!gdb_parse_hex(&args, &n) || *args || !s->target->regno(n, &r)) {
        gdb_send(s, "E22");
        return;
    }
    unsigned bytes = s->target->reg_bytes(r);
    g_autoptr(GString) out = g_string_new(NULL);
    if (bytes > 8) { /* x87, SSE: through the accelerator's byte access */
        uint8_t buf[GDB_MAX_REG_BYTES];
        if (bytes > sizeof(buf) || !mosaic_vcpu_get_reg_bytes(cpu(s, s->g_cpu), r, buf, bytes)) {
            gdb_send(s, "E02");
            return;
        }
        gdb_hex_append(out, buf, bytes);
    } else if (mosaic_vcpu_get_reg(cpu(s, s->g_cpu), r, &v)) {
        gdb_hex_append_le(out, v, bytes);
    } else {
        gdb_send(s, "E02"); /* a register this hart does not have (e.g. unimplemented CSR) */
        return;
    }
    gdb_send_len(s, out->str, out->len);
}

static void cmd_write_reg(GdbStub *s, const char *args)
{
    uint64_t n, v;
    unsigned r;
    if (!gdb_parse_hex(&args, &n) || *args != '=' || !s->target->regno(n, &r)) {
        gdb_send(s, "E22");
        return;
    }
    args++;
    unsigned bytes = s->target->reg_bytes(r);
    if (bytes > 8) {
        uint8_t buf[GDB_MAX_REG_BYTES];
        if (bytes > sizeof(buf) || strlen(args) != 2 * bytes || !gdb_hex_decode(args, buf, bytes)) {
            gdb_send(s, "E22");
            return;
        }
        gdb_send(s, mosaic_vcpu_set_reg_bytes(cpu(s, s->g_cpu), r, buf, bytes) ? "OK" : "E02");
        return;
    }
    if (strlen(args) != 2 * bytes || !gdb_hex_decode_le(args, 2 * bytes, bytes, &v)) {
        gdb_send(s, "E22");
        return;
    }
    gdb_send(s, mosaic_vcpu_set_reg(cpu(s, s->g_cpu), r, v) ? "OK" : "E02");
}

/* "ADDR,LEN" then `sep` (':' for M, NUL for m). */
static gboolean parse_addr_len(const char **p, uint64_t *addr, uint64_t *len, char sep)
{
    if (!gdb_parse_hex(p, addr) || **p != ',')
        return FALSE;
    (*p)++;
    if (!gdb_parse_hex(p, len) || **p != sep)
        return FALSE;
    return TRUE;
}

/* Copies guest-physical RAM/ROM only; returns how many bytes were done before the
 * first unmapped, MMIO or read-only (on write) byte. */
static uint64_t phys_rw(GdbStub *s, uint64_t addr, uint8_t *buf, uint64_t len, gboolean write)
{
    MosaicAddressSpace *as = mosaic_machine_address_space(s->m);
    uint64_t done = 0;
    while (done < len) {
        MosaicMemSection sec = MOSAIC_MEM_SECTION_INIT;
        uint64_t a = addr + done;
        if (a < addr || !mosaic_as_lookup(as, a, &sec) || !sec.host || (write && sec.readonly))
            break;
        uint64_t n = MIN(len - done, sec.size - (a - sec.base));
        if (mosaic_as_rw(as, a, buf + done, n, write) != MOSAIC_MEM_OK)
            break;
        done += n;
    }
    return done;
}

/* Guest-virtual memory of the Hg hart, page by page: a virtual range need not be
 * contiguous physically.  Returns how many bytes were done, as phys_rw. */
#define GDB_PAGE 4096u
static uint64_t mem_rw(GdbStub *s, uint64_t addr, uint8_t *buf, uint64_t len, gboolean write)
{
    uint64_t done = 0;
    while (done < len) {
        uint64_t va = addr + done, pa;
        if (va < addr || !mosaic_vcpu_virt_to_phys(cpu(s, s->g_cpu), va, &pa))
            break;
        uint64_t n = MIN(len - done, GDB_PAGE - (va & (GDB_PAGE - 1)));
        uint64_t got = phys_rw(s, pa, buf + done, n, write);
        done += got;
        if (got < n)
            break;
    }
    return done;
}

static void cmd_read_mem(GdbStub *s, const char *args)
{
    uint64_t addr, len;
    if (!parse_addr_len(&args, &addr, &len, 0)) {
        gdb_send(s, "E22");
        return;
    }
    len = MIN(len, (uint64_t)GDB_PACKET_MAX / 2); /* a short read is allowed */
    uint8_t buf[GDB_PACKET_MAX / 2];
    uint64_t n = mem_rw(s, addr, buf, len, FALSE);
    if (!n && len) {
        gdb_send(s, "E14"); /* EFAULT */
        return;
    }
    g_autoptr(GString) out = g_string_new(NULL);
    gdb_hex_append(out, buf, n);
    gdb_send_len(s, out->str, out->len);
}

static void cmd_write_mem(GdbStub *s, const char *args)
{
    uint64_t addr, len;
    if (!parse_addr_len(&args, &addr, &len, ':')) {
        gdb_send(s, "E22");
        return;
    }
    args++;
    uint8_t buf[GDB_PACKET_MAX / 2];
    if (len > sizeof(buf) || strlen(args) != 2 * len || !gdb_hex_decode(args, buf, len)) {
        gdb_send(s, "E22");
        return;
    }
    /* Written code reaches the accelerator like DMA does: through dirty tracking. */
    gdb_send(s, mem_rw(s, addr, buf, len, TRUE) == len ? "OK" : "E14");
}

/* Z0/Z1 (software/hardware breakpoint: the same thing for an emulator) and z0/z1. */
static void cmd_breakpoint(GdbStub *s, const char *args, gboolean insert)
{
    uint64_t type, addr, kind;
    if (!gdb_parse_hex(&args, &type) || *args != ',') {
        gdb_send(s, "E22");
        return;
    }
    args++;
    if (type > 1) {
        gdb_send(s, ""); /* watchpoints: not supported */
        return;
    }
    if (!gdb_parse_hex(&args, &addr) || *args != ',') {
        gdb_send(s, "E22");
        return;
    }
    args++;
    /* kind (2 or 4: instruction length), then optional ";cond" lists we ignore */
    if (!gdb_parse_hex(&args, &kind) || (*args && *args != ';')) {
        gdb_send(s, "E22");
        return;
    }
    guint at;
    gboolean known = bp_known(s, addr, &at);
    if (insert) {
        if (!known && s->bps->len >= MAX_BREAKPOINTS) {
            gdb_send(s, "E28"); /* ENOSPC */
            return;
        }
        if (!known && !mosaic_machine_breakpoint(s->m, addr, true)) {
            gdb_send(s, "E28");
            return;
        }
        if (!known)
            g_array_append_val(s->bps, addr);
    } else {
        if (known) {
            mosaic_machine_breakpoint(s->m, addr, false);
            g_array_remove_index_fast(s->bps, at);
        }
    }
    gdb_send(s, "OK");
}

/* qXfer:features:read:ANNEX:OFFSET,LENGTH */
static void cmd_xfer_features(GdbStub *s, const char *args)
{
    const char *colon = strchr(args, ':');
    if (!colon) {
        gdb_send(s, "E22");
        return;
    }
    if ((gsize)(colon - args) != strlen("target.xml") || strncmp(args, "target.xml", colon - args)) {
        gdb_send(s, "E00"); /* no such annex */
        return;
    }
    const char *p = colon + 1;
    uint64_t off, len;
    if (!parse_addr_len(&p, &off, &len, 0)) {
        gdb_send(s, "E22");
        return;
    }
    const char *xml = s->target->gdb_xml;
    uint64_t total = strlen(xml);
    len = MIN(len, (uint64_t)GDB_PACKET_MAX - 1);
    if (off >= total) {
        gdb_send(s, "l");
        return;
    }
    uint64_t n = MIN(len, total - off);
    /* The XML holds none of $ # } *, so no escaping is needed. */
    g_autoptr(GString) out = g_string_new(off + n >= total ? "l" : "m");
    g_string_append_len(out, xml + off, (gssize)n);
    gdb_send_len(s, out->str, out->len);
}

static void cmd_thread_info(GdbStub *s)
{
    g_autoptr(GString) r = g_string_new("m");
    for (unsigned i = 0; i < ncpus(s) && r->len < GDB_PACKET_MAX - 16; i++)
        g_string_append_printf(r, "%s%x", i ? "," : "", i + 1);
    gdb_send_len(s, r->str, r->len);
}

static void cmd_query(GdbStub *s, const char *q)
{
    if (g_str_has_prefix(q, "qSupported")) {
        g_autofree char *r = g_strdup_printf("PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;"
                                             "vContSupported+", GDB_PACKET_MAX);
        gdb_send(s, r);
    } else if (g_str_has_prefix(q, "qXfer:features:read:")) {
        cmd_xfer_features(s, q + strlen("qXfer:features:read:"));
    } else if (g_str_equal(q, "qfThreadInfo")) {
        cmd_thread_info(s);
    } else if (g_str_equal(q, "qsThreadInfo")) {
        gdb_send(s, "l");
    } else if (g_str_equal(q, "qC")) {
        g_autofree char *r = g_strdup_printf("QC%x", s->g_cpu + 1);
        gdb_send(s, r);
    } else if (g_str_has_prefix(q, "qAttached")) {
        gdb_send(s, "1"); /* attached to a running machine: detach, don't kill */
    } else if (g_str_has_prefix(q, "qThreadExtraInfo,")) {
        unsigned hart;
        if (!parse_thread(s, q + strlen("qThreadExtraInfo,"), s->g_cpu, &hart)) {
            gdb_send(s, "E22");
            return;
        }
        g_autofree char *text = g_strdup_printf("hart %u", hart);
        g_autoptr(GString) r = g_string_new(NULL);
        gdb_hex_append(r, (const uint8_t *)text, strlen(text));
        gdb_send_len(s, r->str, r->len);
    } else if (g_str_equal(q, "qSymbol::")) {
        gdb_send(s, "OK");
    } else {
        gdb_send(s, "");
    }
}

/* Commands that touch guest state need the machine stopped: in all-stop mode GDB only
 * sends them then, and a hostile client must not race the vCPU threads. */
static gboolean needs_stop(char c)
{
    return strchr("gGpPmMcsCSZzv", c) != NULL;
}

void gdb_handle_packet(GdbStub *s, const char *pkt, gsize len)
{
    if (!len) {
        gdb_send(s, "");
        return;
    }
    if (strlen(pkt) != len) {
        gdb_send(s, "E22"); /* a NUL inside: we take no binary packets (X, vFile) */
        return;
    }
    char c = pkt[0];
    const char *args = pkt + 1;
    if (needs_stop(c) && !stopped(s) && !g_str_equal(pkt, "vCont?") &&
        !g_str_equal(pkt, "vMustReplyEmpty")) {
        gdb_send(s, "E16"); /* EBUSY: the machine is running */
        return;
    }
    switch (c) {
    case '?':
        send_stop(s, 5, s->g_cpu);
        break;
    case 'g':
        cmd_read_regs(s);
        break;
    case 'G':
        cmd_write_regs(s, args, len - 1);
        break;
    case 'p':
        cmd_read_reg(s, args);
        break;
    case 'P':
        cmd_write_reg(s, args);
        break;
    case 'm':
        cmd_read_mem(s, args);
        break;
    case 'M':
        cmd_write_mem(s, args);
        break;
    case 'c':
        cmd_continue(s, args, FALSE);
        break;
    case 's':
        cmd_continue(s, args, TRUE);
        break;
    case 'C':
    case 'S': { /* C sig[;addr]: the signal means nothing to bare hardware */
        uint64_t sig;
        const char *p = args;
        if (!gdb_parse_hex(&p, &sig) || (*p && *p != ';')) {
            gdb_send(s, "E22");
            break;
        }
        cmd_continue(s, *p ? p + 1 : "", c == 'S');
        break;
    }
    case 'Z':
    case 'z':
        cmd_breakpoint(s, args, c == 'Z');
        break;
    case 'H': {
        unsigned hart;
        if ((args[0] != 'g' && args[0] != 'c') ||
            !parse_thread(s, args + 1, args[0] == 'g' ? s->g_cpu : s->c_cpu, &hart)) {
            gdb_send(s, "E22");
            break;
        }
        if (args[0] == 'g')
            s->g_cpu = hart;
        else
            s->c_cpu = hart;
        gdb_send(s, "OK");
        break;
    }
    case 'T': {
        unsigned hart;
        gdb_send(s, parse_thread(s, args, 0, &hart) && !g_str_equal(args, "-1") &&
                        !g_str_equal(args, "0") ? "OK" : "E22");
        break;
    }
    case 'D':
        gdb_release_target(s);
        gdb_send(s, "OK");
        gdb_close_after_flush(s); /* resumes the machine */
        break;
    case 'k': /* no reply; quit first so closing the client resumes nothing */
        gdb_release_target(s);
        mosaic_machine_quit(s->m, 0);
        gdb_close_after_flush(s);
        break;
    case 'q':
        cmd_query(s, pkt);
        break;
    case 'Q':
        if (g_str_equal(pkt, "QStartNoAckMode")) {
            gdb_send(s, "OK"); /* still acknowledged; no acks from here on */
            s->noack = TRUE;
        } else {
            gdb_send(s, "");
        }
        break;
    case 'v':
        if (g_str_has_prefix(pkt, "vCont"))
            cmd_vcont(s, pkt + 5);
        else
            gdb_send(s, ""); /* vMustReplyEmpty and everything else we lack */
        break;
    default:
        gdb_send(s, "");
        break;
    }
}
