/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Port I/O (IN, OUT) and the string instructions (MOVS, STOS, LODS, INS, OUTS) with REP.
 * A REP instruction runs at most X86EMU_REP_CHUNK iterations per step, committing each
 * one (a fault in iteration k leaves the k-1 before it done, as on hardware); with
 * iterations left RIP stays on it.  Privilege checks of port I/O (IOPL, the TSS bitmap)
 * are the hypervisor's: the processor makes them before the I/O exit. */
#include "emu-internal.h"

static bool port_in(Emu *e, uint16_t port, unsigned size, uint64_t *v)
{
    uint32_t x = 0;
    if (!e->ops->io_in(e->opaque, port, size, &x))
        return emu_error(e, "IN of %u bytes from port 0x%x: nothing answers there", size, port);
    *v = x & mask_of(size);
    return true;
}

static bool port_out(Emu *e, uint16_t port, unsigned size, uint64_t v)
{
    if (!e->ops->io_out(e->opaque, port, size, (uint32_t)(v & mask_of(size))))
        return emu_error(e, "OUT of %u bytes to port 0x%x: nothing answers there", size, port);
    return true;
}

bool exec_io(Emu *e)
{
    if (e->nops < 2)
        return emu_unsupported(e);
    bool in = e->in.mnemonic == ZYDIS_MNEMONIC_IN;
    const Operand *acc = in ? &e->op[0] : &e->op[1];
    const Operand *portop = in ? &e->op[1] : &e->op[0];
    uint64_t port, v;
    if (!operand_read(e, portop, &port))
        return false;
    if (in) {
        if (!port_in(e, (uint16_t)port, acc->size, &v))
            return false;
        reg_write(e, X86_RAX, acc->size, false, v);
        return true;
    }
    return port_out(e, (uint16_t)port, acc->size, reg_read(e, X86_RAX, acc->size, false));
}

static unsigned element_size(ZydisMnemonic m)
{
    switch (m) {
    case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_LODSB:
    case ZYDIS_MNEMONIC_INSB: case ZYDIS_MNEMONIC_OUTSB:
        return 1;
    case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_LODSW:
    case ZYDIS_MNEMONIC_INSW: case ZYDIS_MNEMONIC_OUTSW:
        return 2;
    case ZYDIS_MNEMONIC_MOVSD: case ZYDIS_MNEMONIC_STOSD: case ZYDIS_MNEMONIC_LODSD:
    case ZYDIS_MNEMONIC_INSD: case ZYDIS_MNEMONIC_OUTSD:
        return 4;
    default:
        return 8;
    }
}

/* The segment of the source (DS:rSI), which a prefix may override; the destination is
 * always ES:rDI. */
static int source_segment(const Emu *e)
{
    uint64_t a = e->in.attributes;
    if (a & ZYDIS_ATTRIB_HAS_SEGMENT_ES) return X86_ES;
    if (a & ZYDIS_ATTRIB_HAS_SEGMENT_CS) return X86_CS;
    if (a & ZYDIS_ATTRIB_HAS_SEGMENT_SS) return X86_SS;
    if (a & ZYDIS_ATTRIB_HAS_SEGMENT_FS) return X86_FS;
    if (a & ZYDIS_ATTRIB_HAS_SEGMENT_GS) return X86_GS;
    return X86_DS;
}

static bool one_iteration(Emu *e, unsigned size, int src_seg, int64_t delta)
{
    uint64_t am = mask_of(e->asize);
    uint64_t si = e->st.gpr[X86_RSI] & am, di = e->st.gpr[X86_RDI] & am, v;
    bool moves_si = false, moves_di = false;
    switch (e->in.mnemonic) {
    case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_MOVSD:
    case ZYDIS_MNEMONIC_MOVSQ:
        if (!mem_read(e, src_seg, si, size, &v) || !mem_write(e, X86_ES, di, size, v))
            return false;
        moves_si = moves_di = true;
        break;
    case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_STOSD:
    case ZYDIS_MNEMONIC_STOSQ:
        if (!mem_write(e, X86_ES, di, size, reg_read(e, X86_RAX, size, false)))
            return false;
        moves_di = true;
        break;
    case ZYDIS_MNEMONIC_LODSB: case ZYDIS_MNEMONIC_LODSW: case ZYDIS_MNEMONIC_LODSD:
    case ZYDIS_MNEMONIC_LODSQ:
        if (!mem_read(e, src_seg, si, size, &v))
            return false;
        reg_write(e, X86_RAX, size, false, v);
        moves_si = true;
        break;
    case ZYDIS_MNEMONIC_INSB: case ZYDIS_MNEMONIC_INSW: case ZYDIS_MNEMONIC_INSD:
        /* The destination is checked before the port is read: a read has side effects. */
        if (!mem_probe_write(e, X86_ES, di, size) ||
            !port_in(e, (uint16_t)e->st.gpr[X86_RDX], size, &v) || !mem_write(e, X86_ES, di, size, v))
            return false;
        moves_di = true;
        break;
    case ZYDIS_MNEMONIC_OUTSB: case ZYDIS_MNEMONIC_OUTSW: case ZYDIS_MNEMONIC_OUTSD:
        if (!mem_read(e, src_seg, si, size, &v) || !port_out(e, (uint16_t)e->st.gpr[X86_RDX], size, v))
            return false;
        moves_si = true;
        break;
    default:
        return emu_unsupported(e);
    }
    /* rSI/rDI advance within the address size (a 16-bit SI wraps, ESI zero-extends). */
    if (moves_si)
        reg_write(e, X86_RSI, e->asize, false, si + delta);
    if (moves_di)
        reg_write(e, X86_RDI, e->asize, false, di + delta);
    return true;
}

bool exec_string(Emu *e)
{
    if (e->in.opcode_map != ZYDIS_OPCODE_MAP_DEFAULT)
        return emu_unsupported(e);               /* SSE2's MOVSD (F2 0F 10/11) */
    unsigned size = element_size(e->in.mnemonic);
    int src_seg = source_segment(e);
    int64_t delta = e->st.rflags & X86_DF ? -(int64_t)size : (int64_t)size;
    bool rep = e->in.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE);
    if (!rep)
        return one_iteration(e, size, src_seg, delta);
    uint64_t am = mask_of(e->asize);
    for (unsigned n = 0; n < X86EMU_REP_CHUNK; n++) {
        uint64_t count = e->st.gpr[X86_RCX] & am;
        if (count == 0)
            return true;
        if (!one_iteration(e, size, src_seg, delta))
            return false;
        reg_write(e, X86_RCX, e->asize, false, count - 1);
        *e->out = e->st;                          /* this iteration is done */
    }
    if (e->st.gpr[X86_RCX] & am)
        e->next_rip = e->st.rip;                  /* more to do: the next step resumes */
    return true;
}
