/* Stage 4c, "pattern painting" (seed 2.3.2 pattern_painting: 0x400008e8-0x40001000). Pinned at
 * 0x400008e8. One word per store, so a single-stepped recording sees the regions fill up word by word
 * (seed 2.4 "Dynamic Pattern Detection"); the name matches the seed 4.3 filter '%Memory%Pattern%'. */
#include "demo.h"

void vPaintMemoryPattern(uintptr_t start, uintptr_t bytes, uint32_t pattern)
    __attribute__((section(".text.vPaintMemoryPattern")));
void vPaintMemoryPattern(uintptr_t start, uintptr_t bytes, uint32_t pattern)
{
    uintptr_t word = start;
    uintptr_t end = start + bytes;
    if (word == end) return;
    /* Three instructions per word (store with post-increment, compare, branch), written out so the
     * count does not depend on the compiler: 7168 words = 21504 instructions for the four regions. */
#if defined(__aarch64__)
    __asm__ volatile("1: str %w[pattern], [%[word]], #4\n"
                     "   cmp %[word], %[end]\n"
                     "   b.ne 1b\n"
                     : [word] "+r"(word) : [end] "r"(end), [pattern] "r"(pattern) : "cc", "memory");
#else
    __asm__ volatile("1: str %[pattern], [%[word]], #4\n"
                     "   cmp %[word], %[end]\n"
                     "   bne 1b\n"
                     : [word] "+r"(word) : [end] "r"(end), [pattern] "r"(pattern) : "cc", "memory");
#endif
}
