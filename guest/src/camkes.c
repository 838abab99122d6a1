/* Stage 4a, "CAmkES init" (seed 2.3.2 camkes_init: 0x40000000-0x40001000). Pinned at 0x40000000, the
 * guest RAM base, identity mapped. Stands in for the CAmkES VM component bring-up, then hands over to
 * the FreeRTOS main at 0x40000e70. */
#include "demo.h"

extern void freertos_main(void) __attribute__((noreturn));

void camkes_init(void) __attribute__((noreturn, section(".text.camkes_init")));
void camkes_init(void)
{
    uart_puts("[camkes] init: component vm0 at 0x40000000\n");
    freertos_main();
}
