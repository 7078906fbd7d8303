/* Running a C function in S- or U-mode and coming back to M-mode.
 *
 *   void run_in_mode(uint64_t mode, void (*fn)(void), void *stack_top);
 *
 * fn runs with MPP = mode and returns into run_exit, which issues `ebreak` with
 * a7 = 0x99 (not ecall: tests delegate ecalls to S); modes.c's mode_hook sees it and
 * resumes run_return in M-mode on the saved stack.  S-mode traps delegated by medeleg/mideleg land in s_trap,
 * which records scause/sepc/stval/sstatus, steps over synchronous traps (4 bytes, or 2
 * for compressed instructions) and masks S interrupts (sie = 0) on interrupts. */
    .text
    .globl run_in_mode
run_in_mode:
    addi sp, sp, -128
    sd ra, 0(sp)
    sd s0, 8(sp)
    sd s1, 16(sp)
    sd s2, 24(sp)
    sd s3, 32(sp)
    sd s4, 40(sp)
    sd s5, 48(sp)
    sd s6, 56(sp)
    sd s7, 64(sp)
    sd s8, 72(sp)
    sd s9, 80(sp)
    sd s10, 88(sp)
    sd s11, 96(sp)
    sd gp, 104(sp)
    sd tp, 112(sp)
    la t0, saved_m_sp
    sd sp, 0(t0)
    li t0, 0x1800
    csrc mstatus, t0
    slli a0, a0, 11
    csrs mstatus, a0
    csrw mepc, a1
    mv sp, a2
    la ra, run_exit
    mret
run_exit:
    li a7, 0x99
    ebreak
1:  j 1b

    .globl run_return
run_return:
    la t0, saved_m_sp
    ld sp, 0(t0)
    ld ra, 0(sp)
    ld s0, 8(sp)
    ld s1, 16(sp)
    ld s2, 24(sp)
    ld s3, 32(sp)
    ld s4, 40(sp)
    ld s5, 48(sp)
    ld s6, 56(sp)
    ld s7, 64(sp)
    ld s8, 72(sp)
    ld s9, 80(sp)
    ld s10, 88(sp)
    ld s11, 96(sp)
    ld gp, 104(sp)
    ld tp, 112(sp)
    addi sp, sp, 128
    ret

    .balign 4
    .globl s_trap
s_trap:
    csrw sscratch, t0
    la t0, s_rec
    sd t1, 0(t0)
    csrr t1, scause
    sd t1, 8(t0)
    csrr t1, sepc
    sd t1, 16(t0)
    csrr t1, stval
    sd t1, 24(t0)
    ld t1, 32(t0)
    addi t1, t1, 1
    sd t1, 32(t0)
    csrr t1, sstatus
    sd t1, 40(t0)
    csrr t1, scause
    bltz t1, 2f
    /* synchronous: step over the instruction (2 or 4 bytes) */
    csrr t1, sepc
    lhu t1, 0(t1)
    andi t1, t1, 3
    addi t1, t1, -3
    csrr t0, sepc
    beqz t1, 3f
    addi t0, t0, 2
    j 4f
3:  addi t0, t0, 4
4:  csrw sepc, t0
    j 5f
2:  csrw sie, zero
5:  la t0, s_rec
    ld t1, 0(t0)
    csrr t0, sscratch
    sret

    .data
    .balign 8
saved_m_sp: .dword 0
    .globl s_rec
s_rec: .dword 0, 0, 0, 0, 0, 0   /* t1 save, scause, sepc, stval, count, sstatus */
