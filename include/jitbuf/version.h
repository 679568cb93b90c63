/* jitbuf version macros.
 *
 * The shared library's soname carries JB_VERSION_MAJOR (libjitbuf.so.MAJOR):
 * a release that breaks the ABI bumps the major version and so the soname.
 * Compare JB_VERSION_HEX (compile time) with jb_version() (run time) to
 * catch a program built against one release and run against another. */
#ifndef JITBUF_VERSION_H
#define JITBUF_VERSION_H

#define JB_VERSION_MAJOR 0
#define JB_VERSION_MINOR 1
#define JB_VERSION_PATCH 0

#define JB_VERSION_HEX \
    ((JB_VERSION_MAJOR << 16) | (JB_VERSION_MINOR << 8) | JB_VERSION_PATCH)

#define JB__STR2(x) #x
#define JB__STR(x) JB__STR2(x)
#define JB_VERSION_STRING \
    JB__STR(JB_VERSION_MAJOR) "." JB__STR(JB_VERSION_MINOR) "." JB__STR(JB_VERSION_PATCH)

#endif
