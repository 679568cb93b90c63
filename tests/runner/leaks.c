/* A deliberate leak, for make check-leak-gate. It exits with status 0 (as
 * a Criterion worker's status is ignored): only the report that LeakSanitizer
 * writes can fail the run, and the sanitizer gate of make check (san_run)
 * must fail on it. */
#include <sanitizer/lsan_interface.h>
#include <stdlib.h>

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "leak_check_at_exit=0";
}

int main(void)
{
    void *volatile p = malloc(48);
    p = NULL;
    __lsan_do_recoverable_leak_check();
    return p != NULL;
}
