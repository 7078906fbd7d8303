/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One instruction: fetch at CS:RIP, decode with Zydis, resolve the operands, run the
 * family that implements it, and commit the new state only when it completed. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "emu-internal.h"

#define G_N_ELEMENTS_(a) (sizeof(a) / sizeof((a)[0]))

bool emu_fault(Emu *e, unsigned vector, bool has_code, uint32_t code)
{
    e->res->status = X86EMU_FAULT;
    e->res->vector = vector;
    e->res->has_error_code = has_code;
    e->res->error_code = code;
    e->res->fault_addr = 0;
    return false;
}

bool emu_error(Emu *e, const char *fmt, ...)
{
    char what[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    e->res->status = X86EMU_ERROR;
    snprintf(e->res->message, sizeof(e->res->message), "x86 emulator: RIP 0x%llx: %s",
             (unsigned long long)e->orig->rip, what);
    return false;
}

bool emu_unsupported(Emu *e)
{
    char bytes[3 * 15 + 1] = "";
    for (unsigned i = 0; i < e->in.length && i < 15; i++)
        snprintf(bytes + 3 * i, 4, "%02x ", e->raw[i]);
    if (*bytes)
        bytes[strlen(bytes) - 1] = 0;
    return emu_error(e, "cannot emulate %s%s (bytes %s)", ZydisMnemonicGetString(e->in.mnemonic) ?: "?",
                     e->in.attributes & ZYDIS_ATTRIB_HAS_LOCK ? " with LOCK" : "", bytes);
}

uint64_t reg_read(const Emu *e, int reg, unsigned size, bool high8)
{
    if (high8)
        return (e->st.gpr[reg] >> 8) & 0xff;
    return e->st.gpr[reg] & mask_of(size);
}

void reg_write(Emu *e, int reg, unsigned size, bool high8, uint64_t v)
{
    uint64_t *r = &e->st.gpr[reg];
    if (high8)
        *r = (*r & ~0xff00ull) | ((v & 0xff) << 8);
    else if (size == 4)
        *r = (uint32_t)v;                        /* 32-bit writes zero bits 63:32 */
    else
        *r = (*r & ~mask_of(size)) | (v & mask_of(size));
}

bool operand_read(Emu *e, const Operand *o, uint64_t *v)
{
    switch (o->kind) {
    case OPK_REG: *v = reg_read(e, o->reg, o->size, o->high8); return true;
    case OPK_MEM: return mem_read(e, o->seg, o->offset, o->size, v);
    case OPK_IMM: *v = o->imm & mask_of(o->size); return true;
    default: return emu_unsupported(e);
    }
}

bool operand_write(Emu *e, const Operand *o, uint64_t v)
{
    switch (o->kind) {
    case OPK_REG: reg_write(e, o->reg, o->size, o->high8, v); return true;
    case OPK_MEM: return mem_write(e, o->seg, o->offset, o->size, v & mask_of(o->size));
    default: return emu_unsupported(e);
    }
}

/* A Zydis general register -> our index (and whether it is AH, CH, DH or BH); -1 when it
 * is not a general register. */
static int gpr_index(ZydisRegister r, bool *high8)
{
    *high8 = r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH;
    if (*high8)
        return r - ZYDIS_REGISTER_AH;
    ZydisRegisterClass c = ZydisRegisterGetClass(r);
    if (c != ZYDIS_REGCLASS_GPR8 && c != ZYDIS_REGCLASS_GPR16 && c != ZYDIS_REGCLASS_GPR32 &&
        c != ZYDIS_REGCLASS_GPR64)
        return -1;
    ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
    if (big < ZYDIS_REGISTER_RAX || big > ZYDIS_REGISTER_R15)
        return -1;
    return big - ZYDIS_REGISTER_RAX;
}

static int seg_index(ZydisRegister r)
{
    switch (r) {
    case ZYDIS_REGISTER_ES: return X86_ES;
    case ZYDIS_REGISTER_CS: return X86_CS;
    case ZYDIS_REGISTER_SS: return X86_SS;
    case ZYDIS_REGISTER_FS: return X86_FS;
    case ZYDIS_REGISTER_GS: return X86_GS;
    default: return X86_DS;
    }
}

/* The effective address of a memory operand, wrapped to the address size. */
static bool effective_address(Emu *e, const ZydisDecodedOperand *z, uint64_t *ea)
{
    uint64_t a = (uint64_t)z->mem.disp.value;
    bool h;
    ZydisRegister base = z->mem.base;
    /* Zydis 4.0 reads SIB base 101 with mod 00 as R13D when 32-bit addressing (67) meets
     * REX.B in 64-bit mode; the SDM says no base and a disp32, whatever REX.B says
     * (zyantific/zydis#592, fixed upstream after 4.0 by #593). */
    if ((e->in.attributes & ZYDIS_ATTRIB_HAS_SIB) && e->in.raw.modrm.mod == 0 &&
        (e->in.raw.sib.base & 7) == 5 && e->in.machine_mode == ZYDIS_MACHINE_MODE_LONG_64) {
        base = ZYDIS_REGISTER_NONE;
        a = (uint64_t)e->in.raw.disp.value;
    }
    if (base == ZYDIS_REGISTER_RIP || base == ZYDIS_REGISTER_EIP) {
        a += e->next_rip;
    } else if (base != ZYDIS_REGISTER_NONE) {
        int r = gpr_index(base, &h);
        if (r < 0)
            return emu_unsupported(e);
        a += e->st.gpr[r];
    }
    if (z->mem.index != ZYDIS_REGISTER_NONE) {
        int r = gpr_index(z->mem.index, &h);
        if (r < 0)
            return emu_unsupported(e);        /* a vector index (VSIB) */
        a += e->st.gpr[r] * (z->mem.scale ? z->mem.scale : 1);
    }
    *ea = a & mask_of(e->asize);
    return true;
}

static bool resolve_operands(Emu *e)
{
    e->nops = 0;
    for (unsigned i = 0; i < e->in.operand_count_visible && i < 4; i++) {
        const ZydisDecodedOperand *z = &e->zop[i];
        Operand *o = &e->op[e->nops++];
        memset(o, 0, sizeof(*o));
        o->size = z->size / 8;
        switch (z->type) {
        case ZYDIS_OPERAND_TYPE_REGISTER:
            o->kind = OPK_REG;
            o->reg = gpr_index(z->reg.value, &o->high8);
            if (o->reg < 0)
                return emu_unsupported(e);
            break;
        case ZYDIS_OPERAND_TYPE_MEMORY:
            if (z->mem.type != ZYDIS_MEMOP_TYPE_MEM)
                return emu_unsupported(e);
            o->kind = OPK_MEM;
            o->seg = seg_index(z->mem.segment);
            if (!effective_address(e, z, &o->offset))
                return false;
            break;
        case ZYDIS_OPERAND_TYPE_IMMEDIATE:
            /* Zydis sign-extends signed immediates to 64 bits: keep all of them, the
             * instruction takes its operand size of it. */
            o->kind = OPK_IMM;
            o->imm = z->imm.value.u;
            o->size = 8;
            break;
        default:
            return emu_unsupported(e);
        }
        if (o->size == 0 || o->size > 8)
            return emu_unsupported(e);
    }
    return true;
}

static ZydisMachineMode machine_mode(const X86EmuCpu *c, bool *long64)
{
    *long64 = false;
    if (!(c->cr0 & X86_CR0_PE) || (c->rflags & X86_VM))
        return ZYDIS_MACHINE_MODE_REAL_16;
    if (c->efer & X86_EFER_LMA) {
        if (c->seg[X86_CS].l) {
            *long64 = true;
            return ZYDIS_MACHINE_MODE_LONG_64;
        }
        return c->seg[X86_CS].db ? ZYDIS_MACHINE_MODE_LONG_COMPAT_32 : ZYDIS_MACHINE_MODE_LONG_COMPAT_16;
    }
    return c->seg[X86_CS].db ? ZYDIS_MACHINE_MODE_LEGACY_32 : ZYDIS_MACHINE_MODE_LEGACY_16;
}

static bool exec_invalid(Emu *e)
{
    return emu_fault(e, X86_EXC_UD, false, 0);
}

/* What the emulator executes, mnemonic by mnemonic: the dispatch itself, so the list that
 * x86emu_mnemonics() reports (and the tests check coverage against) cannot drift from it. */
typedef struct Dispatch {
    ZydisMnemonic mnemonic;
    bool (*exec)(Emu *e);
} Dispatch;

static const Dispatch dispatch[] = {
    { ZYDIS_MNEMONIC_ADD, exec_alu }, { ZYDIS_MNEMONIC_OR, exec_alu },
    { ZYDIS_MNEMONIC_ADC, exec_alu }, { ZYDIS_MNEMONIC_SBB, exec_alu },
    { ZYDIS_MNEMONIC_AND, exec_alu }, { ZYDIS_MNEMONIC_SUB, exec_alu },
    { ZYDIS_MNEMONIC_XOR, exec_alu }, { ZYDIS_MNEMONIC_CMP, exec_alu },
    { ZYDIS_MNEMONIC_TEST, exec_alu },
    { ZYDIS_MNEMONIC_INC, exec_unary }, { ZYDIS_MNEMONIC_DEC, exec_unary },
    { ZYDIS_MNEMONIC_NEG, exec_unary }, { ZYDIS_MNEMONIC_NOT, exec_unary },
    { ZYDIS_MNEMONIC_SHL, exec_shift }, { ZYDIS_MNEMONIC_SHR, exec_shift },
    { ZYDIS_MNEMONIC_SAR, exec_shift }, { ZYDIS_MNEMONIC_ROL, exec_shift },
    { ZYDIS_MNEMONIC_ROR, exec_shift }, { ZYDIS_MNEMONIC_RCL, exec_shift },
    { ZYDIS_MNEMONIC_RCR, exec_shift },
    { ZYDIS_MNEMONIC_BT, exec_bit }, { ZYDIS_MNEMONIC_BTS, exec_bit },
    { ZYDIS_MNEMONIC_BTR, exec_bit }, { ZYDIS_MNEMONIC_BTC, exec_bit },
    { ZYDIS_MNEMONIC_MOV, exec_mov }, { ZYDIS_MNEMONIC_MOVZX, exec_mov },
    { ZYDIS_MNEMONIC_MOVSX, exec_mov }, { ZYDIS_MNEMONIC_MOVSXD, exec_mov },
    { ZYDIS_MNEMONIC_XCHG, exec_exchange }, { ZYDIS_MNEMONIC_XADD, exec_exchange },
    { ZYDIS_MNEMONIC_CMPXCHG, exec_exchange },
    { ZYDIS_MNEMONIC_IN, exec_io }, { ZYDIS_MNEMONIC_OUT, exec_io },
    { ZYDIS_MNEMONIC_MOVSB, exec_string }, { ZYDIS_MNEMONIC_MOVSW, exec_string },
    { ZYDIS_MNEMONIC_MOVSD, exec_string }, { ZYDIS_MNEMONIC_MOVSQ, exec_string },
    { ZYDIS_MNEMONIC_STOSB, exec_string }, { ZYDIS_MNEMONIC_STOSW, exec_string },
    { ZYDIS_MNEMONIC_STOSD, exec_string }, { ZYDIS_MNEMONIC_STOSQ, exec_string },
    { ZYDIS_MNEMONIC_LODSB, exec_string }, { ZYDIS_MNEMONIC_LODSW, exec_string },
    { ZYDIS_MNEMONIC_LODSD, exec_string }, { ZYDIS_MNEMONIC_LODSQ, exec_string },
    { ZYDIS_MNEMONIC_INSB, exec_string }, { ZYDIS_MNEMONIC_INSW, exec_string },
    { ZYDIS_MNEMONIC_INSD, exec_string },
    { ZYDIS_MNEMONIC_OUTSB, exec_string }, { ZYDIS_MNEMONIC_OUTSW, exec_string },
    { ZYDIS_MNEMONIC_OUTSD, exec_string },
};

/* Invalid by definition: #UD, not an error. */
static const Dispatch invalid[] = {
    { ZYDIS_MNEMONIC_UD0, exec_invalid }, { ZYDIS_MNEMONIC_UD1, exec_invalid },
    { ZYDIS_MNEMONIC_UD2, exec_invalid },
};

size_t x86emu_mnemonics(const char **names, size_t max)
{
    for (size_t i = 0; i < G_N_ELEMENTS_(dispatch) && i < max; i++)
        names[i] = ZydisMnemonicGetString(dispatch[i].mnemonic);
    return G_N_ELEMENTS_(dispatch);
}

static bool execute(Emu *e)
{
    for (size_t i = 0; i < G_N_ELEMENTS_(dispatch); i++)
        if (dispatch[i].mnemonic == e->in.mnemonic)
            return dispatch[i].exec(e);
    for (size_t i = 0; i < G_N_ELEMENTS_(invalid); i++)
        if (invalid[i].mnemonic == e->in.mnemonic)
            return invalid[i].exec(e);
    return emu_unsupported(e);
}

/* Decodes and runs the instruction in e->raw[0..len). */
static X86EmuStatus run(Emu *e, size_t len)
{
    ZydisDecoder dec;
    bool long64;
    ZydisMachineMode mode = machine_mode(&e->st, &long64);
    ZydisStackWidth sw = long64 ? ZYDIS_STACK_WIDTH_64
                                : e->st.seg[X86_SS].db ? ZYDIS_STACK_WIDTH_32 : ZYDIS_STACK_WIDTH_16;
    if (ZYAN_FAILED(ZydisDecoderInit(&dec, mode, sw)))
        return emu_error(e, "decoder set-up failed"), e->res->status;
    ZyanStatus s = ZydisDecoderDecodeFull(&dec, e->raw, len, &e->in, e->zop);
    if (s == ZYDIS_STATUS_NO_MORE_DATA && e->fetch_short) {
        *e->res = e->fetch_fault;                /* the instruction runs into that page */
        return e->res->status;
    }
    if (s == ZYDIS_STATUS_INSTRUCTION_TOO_LONG || (s == ZYDIS_STATUS_NO_MORE_DATA && len >= 15))
        return emu_fault(e, X86_EXC_GP, true, 0), X86EMU_FAULT;
    if (s == ZYDIS_STATUS_NO_MORE_DATA)
        return emu_error(e, "instruction longer than the %zu bytes given", len), X86EMU_ERROR;
    if (ZYAN_FAILED(s))
        return emu_fault(e, X86_EXC_UD, false, 0), X86EMU_FAULT;   /* invalid encoding */
    snprintf(e->res->mnemonic, sizeof(e->res->mnemonic), "%s",
             ZydisMnemonicGetString(e->in.mnemonic) ?: "?");
    e->long64 = long64;
    e->osize = e->in.operand_width / 8;
    e->asize = e->in.address_width / 8;
    e->next_rip = e->st.rip + e->in.length;
    if (!long64)
        e->next_rip &= e->st.seg[X86_CS].db ? 0xffffffffull : 0xffffull;
    if (!resolve_operands(e) || !execute(e))
        return e->res->status;
    e->st.rip = e->next_rip;
    *e->out = e->st;
    e->res->status = X86EMU_DONE;
    return X86EMU_DONE;
}

static void emu_init(Emu *e, X86EmuCpu *cpu, const X86EmuOps *ops, void *opaque, X86EmuResult *res)
{
    memset(e, 0, sizeof(*e));
    memset(res, 0, sizeof(*res));
    e->orig = cpu;
    e->out = cpu;
    e->st = *cpu;
    e->ops = ops;
    e->opaque = opaque;
    e->res = res;
    machine_mode(cpu, &e->long64);
}

X86EmuStatus x86emu_step(X86EmuCpu *cpu, const X86EmuOps *ops, void *opaque, X86EmuResult *res)
{
    Emu e;
    size_t len;
    emu_init(&e, cpu, ops, opaque, res);
    if (!emu_fetch(&e, cpu->rip, e.raw, &len))
        return res->status;
    return run(&e, len);
}

X86EmuStatus x86emu_step_bytes(X86EmuCpu *cpu, const X86EmuOps *ops, void *opaque,
                               const uint8_t *insn, size_t len, X86EmuResult *res)
{
    Emu e;
    emu_init(&e, cpu, ops, opaque, res);
    if (len > sizeof(e.raw))
        len = sizeof(e.raw);
    memcpy(e.raw, insn, len);
    return run(&e, len);
}
