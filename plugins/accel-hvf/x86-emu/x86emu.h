/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A portable x86 instruction emulator for the instructions that exit on MMIO or port I/O
 * under a hypervisor that leaves their emulation to the user program (Hypervisor.framework;
 * later KVM's corner cases).  Zydis decodes; the execution semantics are ours.
 *
 * It knows nothing of any hypervisor: the caller hands it the vCPU state (X86EmuCpu) and
 * callbacks for guest-physical memory (RAM or MMIO, the caller decides) and port I/O, so
 * it runs and is tested on any host.  Every outcome is one of three: the instruction
 * completed (state updated), a fault for the caller to inject into the guest (#PF with
 * its error code and address, #GP, #UD...), or an error naming the instruction it cannot
 * emulate (the caller stops the vCPU).  No guest value can make it crash, loop without
 * bound or touch memory except through the callbacks. */
#ifndef X86EMU_H
#define X86EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
       X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15 };
enum { X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS };

/* RFLAGS bits. */
#define X86_CF (1u << 0)
#define X86_PF (1u << 2)
#define X86_AF (1u << 4)
#define X86_ZF (1u << 6)
#define X86_SF (1u << 7)
#define X86_TF (1u << 8)
#define X86_IF (1u << 9)
#define X86_DF (1u << 10)
#define X86_OF (1u << 11)
#define X86_VM (1u << 17)
#define X86_STATUS_FLAGS (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

#define X86_CR0_PE (1ull << 0)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_PG (1ull << 31)
#define X86_CR4_PSE (1ull << 4)
#define X86_CR4_PAE (1ull << 5)
#define X86_CR4_LA57 (1ull << 12)
#define X86_CR4_SMEP (1ull << 20)
#define X86_CR4_SMAP (1ull << 21)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)

/* Exception vectors the emulator may report. */
enum { X86_EXC_DE = 0, X86_EXC_UD = 6, X86_EXC_SS = 12, X86_EXC_GP = 13, X86_EXC_PF = 14 };

/* #PF error code bits. */
#define X86_PF_P (1u << 0)
#define X86_PF_W (1u << 1)
#define X86_PF_U (1u << 2)
#define X86_PF_RSVD (1u << 3)
#define X86_PF_I (1u << 4)

typedef struct X86EmuSegment {
    uint64_t base;
    uint32_t limit;    /* not checked yet: see README */
    uint16_t selector;
    bool db;           /* CS: default operand size 32; SS: 32-bit stack */
    bool l;            /* CS: 64-bit code segment */
} X86EmuSegment;

/* The vCPU state the emulator reads and (on success) writes back.  CPL is the caller's
 * (CS.RPL in protected mode, 3 in virtual-8086 mode). */
typedef struct X86EmuCpu {
    uint64_t gpr[16];
    uint64_t rip;
    uint64_t rflags;
    X86EmuSegment seg[6];
    uint64_t cr0, cr3, cr4, efer;
    uint8_t cpl;
} X86EmuCpu;

/* Guest-physical accesses (RAM or MMIO) and port I/O.  Sizes are 1, 2, 4 or 8 bytes,
 * never crossing a page; page-table reads are 4 or 8 bytes.  Return false when nothing
 * answers at that address or port: the emulator turns that into an error that stops the
 * vCPU (the caller may instead return true and read ones / drop the write). */
typedef struct X86EmuOps {
    bool (*read_phys)(void *opaque, uint64_t gpa, void *buf, unsigned size);
    bool (*write_phys)(void *opaque, uint64_t gpa, const void *buf, unsigned size);
    bool (*io_in)(void *opaque, uint16_t port, unsigned size, uint32_t *val);
    bool (*io_out)(void *opaque, uint16_t port, unsigned size, uint32_t val);
} X86EmuOps;

typedef enum X86EmuStatus {
    X86EMU_DONE,      /* executed; the state (RIP included) is updated */
    X86EMU_FAULT,     /* inject `vector` (with `error_code` if has_error_code; #PF: CR2 = fault_addr) */
    X86EMU_ERROR,     /* cannot emulate: `message` says what and where; stop the vCPU */
} X86EmuStatus;

typedef struct X86EmuResult {
    X86EmuStatus status;
    uint8_t vector;
    bool has_error_code;
    uint32_t error_code;
    uint64_t fault_addr;
    char mnemonic[24];  /* of the decoded instruction (Zydis's name); empty if none was */
    char message[192];
} X86EmuResult;

/* Most iterations of a REP string instruction one call performs; with more left, RIP stays
 * on the instruction (as after an interrupt window on hardware) and the next call goes on. */
#define X86EMU_REP_CHUNK 4096

/* Fetches, decodes and executes the instruction at CS:RIP.  On X86EMU_FAULT and
 * X86EMU_ERROR the state is as before the instruction, except for the completed
 * iterations of a REP string instruction, as on hardware. */
X86EmuStatus x86emu_step(X86EmuCpu *cpu, const X86EmuOps *ops, void *opaque, X86EmuResult *res);

/* Decodes and executes `len` bytes already fetched (by the hypervisor's exit information
 * or the caller) as the instruction at CS:RIP. */
X86EmuStatus x86emu_step_bytes(X86EmuCpu *cpu, const X86EmuOps *ops, void *opaque,
                               const uint8_t *insn, size_t len, X86EmuResult *res);

/* The mnemonics x86emu_step executes (Zydis's lower-case names): fills names[0..max) and
 * returns how many there are.  Anything else is #UD (UD0/1/2, invalid encodings) or an
 * X86EMU_ERROR. */
size_t x86emu_mnemonics(const char **names, size_t max);

/* Kinds of access, for the page walk. */
typedef enum { X86EMU_READ, X86EMU_WRITE, X86EMU_FETCH } X86EmuAccess;

/* Linear -> guest-physical through the guest's page tables (none, 32-bit, PAE, 4-level),
 * with the guest's permission checks; sets accessed/dirty bits as hardware does.  A
 * fault comes back as X86EMU_FAULT in res (#PF with error code and address). */
X86EmuStatus x86emu_translate(const X86EmuCpu *cpu, const X86EmuOps *ops, void *opaque,
                              uint64_t linear, X86EmuAccess access, uint64_t *gpa,
                              X86EmuResult *res);

#endif
