/* S-mode payload for OpenSBI fw_jump: prints via SBI legacy putchar, shuts down via SRST. */
    .section .text.start
    .globl _start
_start:
    la a0, msg
1:  lbu t0, 0(a0)
    beqz t0, 2f
    mv s0, a0
    mv a0, t0
    li a7, 1
    ecall
    mv a0, s0
    addi a0, a0, 1
    j 1b
2:  li a7, 0x53525354   /* SRST */
    li a6, 0
    li a0, 0
    li a1, 0
    ecall
    j .
msg: .string "S-mode payload alive\n"
