/* jitbuf-doctor: Apple's troubleshooting checklist for a JIT app, automated
 * (binary.c: a Mach-O file or an .app bundle, on any system), and which
 * W^X strategies work on this machine (machine.c). Both build a report and
 * print it as text or JSON (out.c). */
#ifndef JBD_DOCTOR_H
#define JBD_DOCTOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "os/darwin/macho.h"

/* ---- out.c: a report is a tree of objects, arrays and scalars, printed
 * as JSON or as indented text. Keys are ASCII; values may be anything. */
typedef struct jbd_node jbd_node;
jbd_node *jbd_object(jbd_node *parent, const char *key);
jbd_node *jbd_array(jbd_node *parent, const char *key);
void jbd_str(jbd_node *parent, const char *key, const char *value);
void jbd_strf(jbd_node *parent, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void jbd_bool(jbd_node *parent, const char *key, int value);
void jbd_int(jbd_node *parent, const char *key, long long value);
void jbd_null(jbd_node *parent, const char *key);
jbd_node *jbd_root(void);
void jbd_print_json(FILE *f, const jbd_node *root);
void jbd_free(jbd_node *root);

/* Findings: what the doctor says about a slice or the machine, in an
 * array "findings" of {severity, text, fix}. Severities: */
#define JBD_NOTE "note"       /* for information */
#define JBD_WARN "warning"    /* not fatal, but needs attention */
#define JBD_FAIL "problem"    /* the OS kills, or jitbuf refuses: exit 1 */
void jbd_finding(jbd_node *findings, const char *severity, const char *text,
                 const char *fix);

/* ---- files.c: what APP_OR_BINARY names, read whole. */
typedef struct {
    char *path;   /* as opened */
    char *name;   /* for the report (relative to the bundle) */
    uint8_t *p;
    size_t n;
} jbd_file;
enum { JBD_MAX_FILES = 64 };
/* A file, or an .app bundle's main executable (files[0]) and its
 * Contents/Frameworks libraries; *bundle says which. The number of files
 * read (0: a problem in findings). */
size_t jbd_load(const char *path, jbd_file *files, jbd_node *findings,
                int *bundle);
void jbd_unload(jbd_file *files, size_t n);

/* ---- launch.c: n images of one architecture (0: the main executable),
 * each with its path in the bundle. */
typedef struct {
    uint32_t n;
    const jb__macho *const *m;
    const char *const *name;
} jbd_launch;
/* loaded[k]: dyld loads image k at launch by a path it resolves to;
 * instead[k]: image k is loaded by nothing, but a launch dependency
 * carries its install name and resolves outside the bundle (that
 * dependency, which dyld loads instead), or NULL. */
void jbd_launch_shadowed(const jbd_launch *l, unsigned char *loaded,
                         const char **instead);

/* ---- fat.c: a universal executable of n bytes at p, checked as xnu's
 * exec checks it; the number of problems put into findings (0 for a thin
 * file, a library, or one jb__macho_slices cannot read). */
int jbd_fat_exec(const uint8_t *p, size_t n, jbd_node *findings);

/* ---- the two modes: each fills root and returns the exit status. */
int jbd_binary(jbd_node *root, const char *path);
int jbd_machine(jbd_node *root);

/* ---- their text reports, printed from the tree (binary.c, machine.c) */
void jbd_binary_text(FILE *f, const jbd_node *root);
void jbd_machine_text(FILE *f, const jbd_node *root);

/* Reading the tree back for the text reports. */
const jbd_node *jbd_get(const jbd_node *obj, const char *key);
const char *jbd_get_str(const jbd_node *obj, const char *key);
long long jbd_get_int(const jbd_node *obj, const char *key);
int jbd_get_bool(const jbd_node *obj, const char *key);
int jbd_is_null(const jbd_node *n);
/* A string node's value (an array element), or NULL. */
const char *jbd_value(const jbd_node *n);
/* Children of an array or object, in order: n = NULL starts. */
const jbd_node *jbd_next(const jbd_node *parent, const jbd_node *n);
/* Print the findings array of obj as "  severity: text\n    fix: fix". */
void jbd_findings_text(FILE *f, const jbd_node *obj, const char *indent);

#endif
