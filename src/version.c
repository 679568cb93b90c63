/* Run-time version, to compare with the JB_VERSION_* a program built with. */
#include "jitbuf.h"

unsigned jb_version(void)
{
    return JB_VERSION_HEX;
}

const char *jb_version_string(void)
{
    return JB_VERSION_STRING;
}
