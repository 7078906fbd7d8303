/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Architectural VMX numbers (Intel SDM vol. 3, appendices B and C): VMCS field encodings,
 * basic exit reasons and control bits.  Hypervisor.framework passes these through
 * hv_vmx_vcpu_read_vmcs/write_vmcs unchanged; keeping them here, from the manual, keeps
 * the plugin independent of the names one SDK version of <Hypervisor/hv_vmx.h> uses. */
#ifndef HVF_VMX_H
#define HVF_VMX_H

/* Guest state: selector, limit, access rights and base of ES CS SS DS FS GS (index i). */
#define VMCS_GUEST_SEL(i) (0x0800u + 2u * (i))
#define VMCS_GUEST_LIMIT(i) (0x4800u + 2u * (i))
#define VMCS_GUEST_AR(i) (0x4814u + 2u * (i))
#define VMCS_GUEST_BASE(i) (0x6806u + 2u * (i))
#define VMCS_GUEST_CR0 0x6800u
#define VMCS_GUEST_CR3 0x6802u
#define VMCS_GUEST_CR4 0x6804u
#define VMCS_GUEST_RSP 0x681cu
#define VMCS_GUEST_RIP 0x681eu
#define VMCS_GUEST_RFLAGS 0x6820u
#define VMCS_GUEST_EFER 0x2806u
#define VMCS_GUEST_PAT 0x2804u
#define VMCS_GUEST_INTERRUPTIBILITY 0x4824u
#define VMCS_GUEST_ACTIVITY 0x4826u
#define VMCS_GUEST_TR_AR 0x4822u
#define VMCS_GUEST_LDTR_AR 0x4820u
#define VMCS_GUEST_GDTR_LIMIT 0x4810u
#define VMCS_GUEST_IDTR_LIMIT 0x4812u

/* Controls. */
#define VMCS_CTRL_PIN_BASED 0x4000u
#define VMCS_CTRL_CPU_BASED 0x4002u
#define VMCS_CTRL_EXC_BITMAP 0x4004u
#define VMCS_CTRL_VMEXIT_CONTROLS 0x400cu
#define VMCS_CTRL_VMENTRY_CONTROLS 0x4012u
#define VMCS_CTRL_VMENTRY_IRQ_INFO 0x4016u
#define VMCS_CTRL_VMENTRY_EXC_ERROR 0x4018u
#define VMCS_CTRL_VMENTRY_INSTR_LEN 0x401au
#define VMCS_CTRL_CPU_BASED2 0x401eu
#define VMCS_CTRL_CR0_MASK 0x6000u
#define VMCS_CTRL_CR4_MASK 0x6002u
#define VMCS_CTRL_CR0_SHADOW 0x6004u
#define VMCS_CTRL_CR4_SHADOW 0x6006u

/* Exit information. */
#define VMCS_RO_GUEST_PHYSICAL_ADDRESS 0x2400u
#define VMCS_RO_EXIT_REASON 0x4402u
#define VMCS_RO_EXIT_INTR_INFO 0x4404u
#define VMCS_RO_IDT_VECTORING_INFO 0x4408u
#define VMCS_RO_IDT_VECTORING_ERROR 0x440au
#define VMCS_RO_EXIT_INSTR_LEN 0x440cu
#define VMCS_RO_EXIT_QUALIFICATION 0x6400u

/* Basic exit reasons. */
#define EXIT_EXCEPTION_NMI 0
#define EXIT_EXTERNAL_INTERRUPT 1
#define EXIT_TRIPLE_FAULT 2
#define EXIT_INTERRUPT_WINDOW 7
#define EXIT_CPUID 10
#define EXIT_HLT 12
#define EXIT_MOV_CR 28
#define EXIT_IO 30
#define EXIT_RDMSR 31
#define EXIT_WRMSR 32
#define EXIT_ENTRY_FAIL_GUEST 33
#define EXIT_EPT_VIOLATION 48
#define EXIT_EPT_MISCONFIG 49
#define EXIT_XSETBV 55

/* Control bits. */
#define PIN_EXTERNAL_INTERRUPT_EXITING (1u << 0)
#define PIN_NMI_EXITING (1u << 3)
#define CPU_INTERRUPT_WINDOW_EXITING (1u << 2)
#define CPU_HLT_EXITING (1u << 7)
#define CPU_CR8_LOAD_EXITING (1u << 19)
#define CPU_CR8_STORE_EXITING (1u << 20)
#define CPU_UNCONDITIONAL_IO_EXITING (1u << 24)
#define CPU_SECONDARY_CONTROLS (1u << 31)
#define CPU2_EPT (1u << 1)
#define CPU2_RDTSCP (1u << 3)
#define CPU2_UNRESTRICTED_GUEST (1u << 7)
#define ENTRY_IA32E_MODE_GUEST (1u << 9)
#define ENTRY_LOAD_EFER (1u << 15)
#define EXIT_HOST_ADDRESS_SPACE_SIZE (1u << 9)
#define EXIT_LOAD_EFER (1u << 21)
#define EXIT_SAVE_EFER (1u << 20)

/* VM-entry interruption information. */
#define IRQ_INFO_VALID (1u << 31)
#define IRQ_INFO_DELIVER_ERROR (1u << 11)
#define IRQ_INFO_TYPE_EXTERNAL (0u << 8)
#define IRQ_INFO_TYPE_HW_EXCEPTION (3u << 8)

#endif
