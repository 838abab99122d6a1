/* Stage 3, "rootserver" (seed 2.3.2 rootserver_start: 0x10000-0x20000). Linked at virtual 0x10000
 * (PA 0x60410000). Makes one system call into the kernel stage (AArch64: hvc to EL2 and back to EL1;
 * AArch32: svc), then starts the CAmkES component at 0x40000000. */
#include "demo.h"

void rootserver_main(void) __attribute__((noreturn, section(".text.rootserver_main")));
void rootserver_main(void)
{
#if defined(__aarch64__)
    uart_puts("[rootserver] start at 0x10000 (EL1)\n");
    /* x0 = syscall number; the EL2 handler preserves every register it uses. */
    register uint64_t number __asm__("x0") = 1;
    __asm__ volatile("hvc #0" : "+r"(number) : : "memory");
    uart_puts("[rootserver] hvc returned to EL1\n");
#else
    uart_puts("[rootserver] start at 0x10000 (SYS)\n");
    register uint32_t number __asm__("r0") = 1;
    __asm__ volatile("svc #0" : "+r"(number) : : "memory");
    uart_puts("[rootserver] svc returned\n");
#endif
    uart_puts("[rootserver] starting camkes at 0x40000000\n");
    /* An absolute indirect call: 0x40000000 is out of direct-branch range of 0x10000 on both ISAs. */
    ((void (*)(void))(uintptr_t)CAMKES_ENTRY)();
    for (;;) { }
}
