/* Stage 4b, "FreeRTOS main" (seed 2.3.2 freertos_main: 0x40000e70-0x40001000, nested in camkes_init).
 * Pinned at 0x40000e70 and kept under 0x190 bytes so it fits below 0x40001000. Paints the seed's four
 * regions (seed 2.3.3) through vPaintMemoryPattern, then starts the scheduler at 0x40003000. */
#include "demo.h"

extern void vPaintMemoryPattern(uintptr_t start, uintptr_t bytes, uint32_t pattern);
extern void scheduler_start(void) __attribute__((noreturn));

void freertos_main(void) __attribute__((noreturn, section(".text.freertos_main")));
void freertos_main(void)
{
    uart_puts("[freertos] main\n");
    uart_puts("[freertos] painting\n");
    vPaintMemoryPattern(STACK_REGION, STACK_SIZE, STACK_PATTERN);
    vPaintMemoryPattern(DATA_REGION, DATA_SIZE, DATA_PATTERN);
    vPaintMemoryPattern(HEAP_REGION, HEAP_SIZE, HEAP_PATTERN);
    vPaintMemoryPattern(PATTERN_REGION, PATTERN_SIZE, PATTERN_PATTERN);
    uart_puts("[freertos] painted\n");
    scheduler_start();
}
