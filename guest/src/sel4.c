/* Stage 2, "seL4 boot" (seed 2.3.2: 0xe0000000-0xe1000000). Linked at virtual 0xe0000000 and reached
 * only through the MMU (PA 0x60200000). It installs its exception vectors and enters the rootserver at
 * virtual 0x10000. AArch64: this is the hypervisor part at EL2; it prepares the EL1 translation regime
 * (same tables) and drops to EL1 with eret. AArch32: it runs in SVC mode and enters the rootserver in
 * SYS mode. Either way the rootserver makes one system call (hvc / svc) that this stage handles. */
#include "demo.h"

extern uint8_t sel4_vectors[];
extern uint8_t rootserver_stack_top[];
extern void rootserver_main(void);
/* start.S: exception return into the rootserver; never returns. */
extern void sel4_enter_rootserver(uintptr_t entry, void *stack_top) __attribute__((noreturn));

#if defined(__aarch64__)
extern uint64_t boot_l1_table[];
#define MAIR_VALUE   0x00ffull                 /* attr0 normal write-back, attr1 device-nGnRnE */
#define TCR_EL1_VALUE 0x80803520ull            /* T0SZ=32, WB walks, inner shareable, 4K, EPD1, TG1=4K */
#define SCTLR_EL1_VALUE (0x30d00800ull | 1u)   /* RES1 bits + M */
#endif

void sel4_boot(void) __attribute__((noreturn, section(".text.sel4_boot")));
void sel4_boot(void)
{
#if defined(__aarch64__)
    uart_puts("[sel4] mmu on, kernel at 0xe0000000 (EL2)\n");
    SYSREG_WRITE(vbar_el2, sel4_vectors);
    SYSREG_WRITE(hcr_el2, 1ull << 31);      /* RW: EL1 is AArch64; IMO=0 so IRQs go to EL1 */
    SYSREG_WRITE(cnthctl_el2, 3);           /* EL1PCTEN | EL1PCEN */
    SYSREG_WRITE(cntvoff_el2, 0);           /* virtual counter == physical counter */
    SYSREG_WRITE(mair_el1, MAIR_VALUE);
    SYSREG_WRITE(tcr_el1, TCR_EL1_VALUE);
    SYSREG_WRITE(ttbr0_el1, boot_l1_table);
    SYSREG_WRITE(sctlr_el1, SCTLR_EL1_VALUE);
    ISB();
    uart_puts("[sel4] eret to rootserver at 0x10000 (EL1)\n");
#else
    uart_puts("[sel4] mmu on, kernel at 0xe0000000 (SVC)\n");
    __asm__ volatile("mcr p15, 0, %0, c12, c0, 0" : : "r"(sel4_vectors) : "memory"); /* VBAR */
    ISB();
    uart_puts("[sel4] entering rootserver at 0x10000 (SYS)\n");
#endif
    sel4_enter_rootserver((uintptr_t)rootserver_main, rootserver_stack_top);
}

/* Called from the hvc (AArch64) / svc (AArch32) vector with the syscall number. */
void sel4_handle_syscall(uintptr_t number)
{
    (void)number;
#if defined(__aarch64__)
    uart_puts("[sel4] hvc from EL1 handled at EL2\n");
#else
    uart_puts("[sel4] svc from rootserver handled in SVC\n");
#endif
}

/* Any other exception while the kernel's vectors are installed: say so and stop. */
void sel4_fault(void) __attribute__((noreturn));
void sel4_fault(void)
{
    uart_puts("[sel4] unexpected exception\n");
    for (;;) __asm__ volatile("wfi");
}
