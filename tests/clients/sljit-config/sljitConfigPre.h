/* sljit's pre-configuration hook (SLJIT_HAVE_CONFIG_PRE=1): PCRE2's sljit
 * on jitbuf, as docs/clients.md describes. */
#include <jitbuf/sljit.h>
