/* SPDX-License-Identifier: GPL-2.0-or-later */
/* accel-tcg: RV64GC decoder.  Every instruction (compressed ones expanded) becomes one
 * Insn record; anything not recognised becomes OP_ILLEGAL with its bits for mtval. */
#include "cpu.h"

static inline int64_t sext(uint64_t v, unsigned bits)
{
    return (int64_t)(v << (64 - bits)) >> (64 - bits);
}
#define BITS(v, hi, lo) (((v) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1))

static void set(Insn *in, int opc, unsigned rd, unsigned rs1, unsigned rs2, int64_t imm)
{
    in->opc = opc;
    in->rd = rd;
    in->rs1 = rs1;
    in->rs2 = rs2;
    in->imm = imm;
}

static bool illegal(Insn *in)
{
    in->opc = OP_ILLEGAL;
    return true;
}

static bool ends_block(int opc)
{
    switch (opc) {
    case OP_JAL: case OP_JALR: case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE:
    case OP_BLTU: case OP_BGEU: case OP_FENCE_I: case OP_ECALL: case OP_EBREAK:
    case OP_MRET: case OP_SRET: case OP_WFI: case OP_SFENCE_VMA: case OP_CSR:
    case OP_ILLEGAL:
        return true;
    default:
        return false;
    }
}

static bool decode16(uint32_t r, Insn *in)
{
    unsigned q = r & 3, f3 = BITS(r, 15, 13);
    unsigned rdp = BITS(r, 4, 2) + 8, rs1p = BITS(r, 9, 7) + 8;
    unsigned rd = BITS(r, 11, 7), rs2 = BITS(r, 6, 2);
    int64_t imm;
    if (r == 0)
        return illegal(in);
    switch (q) {
    case 0:
        switch (f3) {
        case 0: /* C.ADDI4SPN */
            imm = (BITS(r, 12, 11) << 4) | (BITS(r, 10, 7) << 6) | (BITS(r, 6, 6) << 2) |
                  (BITS(r, 5, 5) << 3);
            if (!imm)
                return illegal(in);
            set(in, OP_ADDI, rdp, 2, 0, imm);
            return false;
        case 1: /* C.FLD */
            set(in, OP_FLD, rdp, rs1p, 0, (BITS(r, 12, 10) << 3) | (BITS(r, 6, 5) << 6));
            return false;
        case 2: /* C.LW */
            set(in, OP_LW, rdp, rs1p, 0,
                (BITS(r, 12, 10) << 3) | (BITS(r, 6, 6) << 2) | (BITS(r, 5, 5) << 6));
            return false;
        case 3: /* C.LD */
            set(in, OP_LD, rdp, rs1p, 0, (BITS(r, 12, 10) << 3) | (BITS(r, 6, 5) << 6));
            return false;
        case 5: /* C.FSD */
            set(in, OP_FSD, 0, rs1p, rdp, (BITS(r, 12, 10) << 3) | (BITS(r, 6, 5) << 6));
            return false;
        case 6: /* C.SW */
            set(in, OP_SW, 0, rs1p, rdp,
                (BITS(r, 12, 10) << 3) | (BITS(r, 6, 6) << 2) | (BITS(r, 5, 5) << 6));
            return false;
        case 7: /* C.SD */
            set(in, OP_SD, 0, rs1p, rdp, (BITS(r, 12, 10) << 3) | (BITS(r, 6, 5) << 6));
            return false;
        default:
            return illegal(in);
        }
    case 1:
        imm = sext((BITS(r, 12, 12) << 5) | BITS(r, 6, 2), 6);
        switch (f3) {
        case 0: /* C.ADDI (rd=0: hint) */
            set(in, OP_ADDI, rd, rd, 0, imm);
            return false;
        case 1: /* C.ADDIW */
            if (!rd)
                return illegal(in);
            set(in, OP_ADDIW, rd, rd, 0, imm);
            return false;
        case 2: /* C.LI */
            set(in, OP_ADDI, rd, 0, 0, imm);
            return false;
        case 3:
            if (rd == 2) { /* C.ADDI16SP */
                imm = sext((BITS(r, 12, 12) << 9) | (BITS(r, 6, 6) << 4) | (BITS(r, 5, 5) << 6) |
                           (BITS(r, 4, 3) << 7) | (BITS(r, 2, 2) << 5), 10);
                if (!imm)
                    return illegal(in);
                set(in, OP_ADDI, 2, 2, 0, imm);
            } else { /* C.LUI */
                imm = sext((BITS(r, 12, 12) << 17) | (BITS(r, 6, 2) << 12), 18);
                if (!imm)
                    return illegal(in);
                set(in, OP_LUI, rd, 0, 0, imm);
            }
            return false;
        case 4: {
            unsigned f2 = BITS(r, 11, 10);
            unsigned shamt = (BITS(r, 12, 12) << 5) | BITS(r, 6, 2);
            if (f2 == 0) {
                set(in, OP_SRLI, rs1p, rs1p, 0, shamt);
            } else if (f2 == 1) {
                set(in, OP_SRAI, rs1p, rs1p, 0, shamt);
            } else if (f2 == 2) {
                set(in, OP_ANDI, rs1p, rs1p, 0, imm);
            } else {
                static const int ops[8] = {OP_SUB, OP_XOR, OP_OR, OP_AND,
                                           OP_SUBW, OP_ADDW, -1, -1};
                int op = ops[(BITS(r, 12, 12) << 2) | BITS(r, 6, 5)];
                if (op < 0)
                    return illegal(in);
                set(in, op, rs1p, rs1p, rdp, 0);
            }
            return false;
        }
        case 5: /* C.J */
            imm = sext((BITS(r, 12, 12) << 11) | (BITS(r, 11, 11) << 4) | (BITS(r, 10, 9) << 8) |
                       (BITS(r, 8, 8) << 10) | (BITS(r, 7, 7) << 6) | (BITS(r, 6, 6) << 7) |
                       (BITS(r, 5, 3) << 1) | (BITS(r, 2, 2) << 5), 12);
            set(in, OP_JAL, 0, 0, 0, imm);
            return true;
        default: /* 6 C.BEQZ, 7 C.BNEZ */
            imm = sext((BITS(r, 12, 12) << 8) | (BITS(r, 11, 10) << 3) | (BITS(r, 6, 5) << 6) |
                       (BITS(r, 4, 3) << 1) | (BITS(r, 2, 2) << 5), 9);
            set(in, f3 == 6 ? OP_BEQ : OP_BNE, 0, rs1p, 0, imm);
            return true;
        }
    case 2:
        switch (f3) {
        case 0: /* C.SLLI */
            set(in, OP_SLLI, rd, rd, 0, (BITS(r, 12, 12) << 5) | BITS(r, 6, 2));
            return false;
        case 1: /* C.FLDSP */
            set(in, OP_FLD, rd, 2, 0,
                (BITS(r, 12, 12) << 5) | (BITS(r, 6, 5) << 3) | (BITS(r, 4, 2) << 6));
            return false;
        case 2: /* C.LWSP */
            if (!rd)
                return illegal(in);
            set(in, OP_LW, rd, 2, 0,
                (BITS(r, 12, 12) << 5) | (BITS(r, 6, 4) << 2) | (BITS(r, 3, 2) << 6));
            return false;
        case 3: /* C.LDSP */
            if (!rd)
                return illegal(in);
            set(in, OP_LD, rd, 2, 0,
                (BITS(r, 12, 12) << 5) | (BITS(r, 6, 5) << 3) | (BITS(r, 4, 2) << 6));
            return false;
        case 4:
            if (!BITS(r, 12, 12)) {
                if (!rs2) { /* C.JR */
                    if (!rd)
                        return illegal(in);
                    set(in, OP_JALR, 0, rd, 0, 0);
                    return true;
                }
                set(in, OP_ADD, rd, 0, rs2, 0); /* C.MV */
                return false;
            }
            if (!rs2) {
                if (!rd) { /* C.EBREAK */
                    set(in, OP_EBREAK, 0, 0, 0, 0);
                    return true;
                }
                set(in, OP_JALR, 1, rd, 0, 0); /* C.JALR */
                return true;
            }
            set(in, OP_ADD, rd, rd, rs2, 0); /* C.ADD */
            return false;
        case 5: /* C.FSDSP */
            set(in, OP_FSD, 0, 2, rs2, (BITS(r, 12, 10) << 3) | (BITS(r, 9, 7) << 6));
            return false;
        case 6: /* C.SWSP */
            set(in, OP_SW, 0, 2, rs2, (BITS(r, 12, 9) << 2) | (BITS(r, 8, 7) << 6));
            return false;
        default: /* C.SDSP */
            set(in, OP_SD, 0, 2, rs2, (BITS(r, 12, 10) << 3) | (BITS(r, 9, 7) << 6));
            return false;
        }
    }
    return illegal(in);
}

static bool decode32(uint32_t r, Insn *in)
{
    unsigned opcode = r & 0x7f, rd = BITS(r, 11, 7), f3 = BITS(r, 14, 12);
    unsigned rs1 = BITS(r, 19, 15), rs2 = BITS(r, 24, 20), f7 = r >> 25;
    int64_t immi = sext(r >> 20, 12);
    int64_t imms = sext(((r >> 25) << 5) | rd, 12);
    int64_t immb = sext((BITS(r, 31, 31) << 12) | (BITS(r, 7, 7) << 11) |
                        (BITS(r, 30, 25) << 5) | (BITS(r, 11, 8) << 1), 13);
    int64_t immu = sext(r & 0xfffff000u, 32);
    int64_t immj = sext((BITS(r, 31, 31) << 20) | (BITS(r, 19, 12) << 12) |
                        (BITS(r, 20, 20) << 11) | (BITS(r, 30, 21) << 1), 21);
    switch (opcode) {
    case 0x37: set(in, OP_LUI, rd, 0, 0, immu); return false;
    case 0x17: set(in, OP_AUIPC, rd, 0, 0, immu); return false;
    case 0x6f: set(in, OP_JAL, rd, 0, 0, immj); return true;
    case 0x67:
        if (f3)
            return illegal(in);
        set(in, OP_JALR, rd, rs1, 0, immi);
        return true;
    case 0x63: {
        static const int ops[8] = {OP_BEQ, OP_BNE, -1, -1, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU};
        if (ops[f3] < 0)
            return illegal(in);
        set(in, ops[f3], 0, rs1, rs2, immb);
        return true;
    }
    case 0x03: {
        static const int ops[8] = {OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, -1};
        if (ops[f3] < 0)
            return illegal(in);
        set(in, ops[f3], rd, rs1, 0, immi);
        return false;
    }
    case 0x23: {
        static const int ops[8] = {OP_SB, OP_SH, OP_SW, OP_SD, -1, -1, -1, -1};
        if (ops[f3] < 0)
            return illegal(in);
        set(in, ops[f3], 0, rs1, rs2, imms);
        return false;
    }
    case 0x13:
        switch (f3) {
        case 0: set(in, OP_ADDI, rd, rs1, 0, immi); return false;
        case 2: set(in, OP_SLTI, rd, rs1, 0, immi); return false;
        case 3: set(in, OP_SLTIU, rd, rs1, 0, immi); return false;
        case 4: set(in, OP_XORI, rd, rs1, 0, immi); return false;
        case 6: set(in, OP_ORI, rd, rs1, 0, immi); return false;
        case 7: set(in, OP_ANDI, rd, rs1, 0, immi); return false;
        case 1:
            if ((r >> 26) != 0)
                return illegal(in);
            set(in, OP_SLLI, rd, rs1, 0, BITS(r, 25, 20));
            return false;
        default:
            if ((r >> 26) == 0)
                set(in, OP_SRLI, rd, rs1, 0, BITS(r, 25, 20));
            else if ((r >> 26) == 0x10)
                set(in, OP_SRAI, rd, rs1, 0, BITS(r, 25, 20));
            else
                return illegal(in);
            return false;
        }
    case 0x1b:
        switch (f3) {
        case 0: set(in, OP_ADDIW, rd, rs1, 0, immi); return false;
        case 1:
            if (f7)
                return illegal(in);
            set(in, OP_SLLIW, rd, rs1, 0, rs2);
            return false;
        case 5:
            if (f7 == 0)
                set(in, OP_SRLIW, rd, rs1, 0, rs2);
            else if (f7 == 0x20)
                set(in, OP_SRAIW, rd, rs1, 0, rs2);
            else
                return illegal(in);
            return false;
        default:
            return illegal(in);
        }
    case 0x33: {
        int op = -1;
        if (f7 == 0) {
            static const int ops[8] = {OP_ADD, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_OR, OP_AND};
            op = ops[f3];
        } else if (f7 == 0x20) {
            op = f3 == 0 ? OP_SUB : f3 == 5 ? OP_SRA : -1;
        } else if (f7 == 1) {
            static const int ops[8] = {OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU,
                                       OP_DIV, OP_DIVU, OP_REM, OP_REMU};
            op = ops[f3];
        }
        if (op < 0)
            return illegal(in);
        set(in, op, rd, rs1, rs2, 0);
        return false;
    }
    case 0x3b: {
        int op = -1;
        if (f7 == 0)
            op = f3 == 0 ? OP_ADDW : f3 == 1 ? OP_SLLW : f3 == 5 ? OP_SRLW : -1;
        else if (f7 == 0x20)
            op = f3 == 0 ? OP_SUBW : f3 == 5 ? OP_SRAW : -1;
        else if (f7 == 1) {
            static const int ops[8] = {OP_MULW, -1, -1, -1, OP_DIVW, OP_DIVUW, OP_REMW, OP_REMUW};
            op = ops[f3];
        }
        if (op < 0)
            return illegal(in);
        set(in, op, rd, rs1, rs2, 0);
        return false;
    }
    case 0x0f:
        if (f3 == 0) {
            set(in, OP_FENCE, 0, 0, 0, 0);
            return false;
        }
        if (f3 == 1) {
            set(in, OP_FENCE_I, 0, 0, 0, 0);
            return true;
        }
        return illegal(in);
    case 0x73:
        if (f3 == 0) {
            if (r == 0x00000073) { set(in, OP_ECALL, 0, 0, 0, 0); return true; }
            if (r == 0x00100073) { set(in, OP_EBREAK, 0, 0, 0, 0); return true; }
            if (r == 0x30200073) { set(in, OP_MRET, 0, 0, 0, 0); return true; }
            if (r == 0x10200073) { set(in, OP_SRET, 0, 0, 0, 0); return true; }
            if (r == 0x10500073) { set(in, OP_WFI, 0, 0, 0, 0); return true; }
            if (f7 == 0x09 && rd == 0) {
                set(in, OP_SFENCE_VMA, 0, rs1, rs2, 0);
                return true;
            }
            return illegal(in);
        }
        if (f3 == 4)
            return illegal(in);
        set(in, OP_CSR, rd, rs1, 0, r >> 20);
        in->rm = f3;
        return true;
    case 0x2f: {
        unsigned f5 = r >> 27;
        if (f3 != 2 && f3 != 3)
            return illegal(in);
        bool d = f3 == 3;
        switch (f5) {
        case 0x02:
            if (rs2)
                return illegal(in);
            set(in, d ? OP_LR_D : OP_LR_W, rd, rs1, 0, 0);
            return false;
        case 0x03: set(in, d ? OP_SC_D : OP_SC_W, rd, rs1, rs2, 0); return false;
        case 0x00: case 0x01: case 0x04: case 0x08: case 0x0c:
        case 0x10: case 0x14: case 0x18: case 0x1c:
            set(in, d ? OP_AMO_D : OP_AMO_W, rd, rs1, rs2, 0);
            in->rm = f5;
            return false;
        default:
            return illegal(in);
        }
    }
    case 0x07:
        if (f3 == 2) { set(in, OP_FLW, rd, rs1, 0, immi); return false; }
        if (f3 == 3) { set(in, OP_FLD, rd, rs1, 0, immi); return false; }
        return illegal(in);
    case 0x27:
        if (f3 == 2) { set(in, OP_FSW, 0, rs1, rs2, imms); return false; }
        if (f3 == 3) { set(in, OP_FSD, 0, rs1, rs2, imms); return false; }
        return illegal(in);
    case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53:
        /* Validity (fmt, rm, funct) is checked when it executes in fpu.c. */
        set(in, OP_FP, rd, rs1, rs2, 0);
        in->rs3 = r >> 27;
        in->rm = f3;
        return false;
    default:
        return illegal(in);
    }
}

bool tcg_decode(uint32_t raw, Insn *in)
{
    bool end;
    memset(in, 0, sizeof(*in));
    if ((raw & 3) != 3) {
        raw &= 0xffff;
        in->len = 2;
        end = decode16(raw, in);
    } else {
        in->len = 4;
        end = decode32(raw, in);
    }
    in->raw = raw;
    /* Writes to x0 go to the sink register so handlers never test rd. */
    if (in->rd == 0 && in->opc != OP_FLW && in->opc != OP_FLD && in->opc != OP_FP)
        in->rd = 32;
    /* Cheap specialisations of the most common forms. */
    if (in->opc == OP_ADDI && in->rs1 == 0)
        in->opc = OP_LI;
    else if (in->opc == OP_ADDI && in->imm == 0)
        in->opc = OP_MV;
    else if (in->opc == OP_ADD && in->rs1 == 0)
        in->opc = OP_MV, in->rs1 = in->rs2, in->rs2 = 0;
    return end || ends_block(in->opc);
}
