/* What jitbuf-doctor reads: one file, or an .app bundle's main executable
 * (Contents/Info.plist's CFBundleExecutable, else the one file in
 * Contents/MacOS) and the libraries in Contents/Frameworks (*.dylib and
 * X.framework/X), each read whole into memory. */
#include <dirent.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "doctor.h"

static int read_file(const char *path, jbd_file *f, const char **why)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        *why = strerror(errno);
        return -1;
    }
    size_t cap = 1 << 16, got;
    uint8_t *p = malloc(cap);
    *why = "out of memory";
    while (p && (got = fread(p + f->n, 1, cap - f->n, fp)) > 0) {
        f->n += got;
        if (f->n == cap) {
            uint8_t *q = realloc(p, cap *= 2);
            if (!q)
                free(p);
            p = q;
        }
    }
    if (p && ferror(fp)) {
        *why = "a read error";
        free(p);
        p = NULL;
    }
    fclose(fp);
    if (!p)
        return -1;
    f->p = p;
    f->path = strdup(path);
    return 0;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* CFBundleExecutable from an XML Info.plist (a binary one yields NULL). */
static char *bundle_executable(const char *contents)
{
    char *plist = join(contents, "Info.plist");
    jbd_file f;
    const char *why;
    char *exe = NULL;
    if (plist && read_file(plist, &f, &why) == 0) {
        char *text = realloc(f.p, f.n + 1);
        if (text) {
            text[f.n] = 0;
            char *k = strstr(text, "<key>CFBundleExecutable</key>");
            char *s = k ? strstr(k, "<string>") : NULL;
            char *e = s ? strstr(s, "</string>") : NULL;
            if (e) {
                s += strlen("<string>");
                exe = strndup(s, (size_t)(e - s));
            }
            f.p = (uint8_t *)text;
        }
        free(f.p);
        free(f.path);
    }
    free(plist);
    return exe;
}

/* A bundle's main executable and its Frameworks (dylibs and frameworks),
 * which may be loaded at launch. */
static size_t bundle_files(const char *path, jbd_file *files,
                           jbd_node *findings)
{
    char *contents = join(path, "Contents");
    char *exe = contents ? bundle_executable(contents) : NULL;
    char *macos = contents ? join(contents, "MacOS") : NULL;
    size_t n = 0;
    const char *why;
    if (!exe && macos) { /* a binary Info.plist: the one file in MacOS/ */
        DIR *d = opendir(macos);
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (e->d_name[0] != '.' && !exe)
                exe = strdup(e->d_name);
        if (d)
            closedir(d);
    }
    char *main_path = exe && macos ? join(macos, exe) : NULL;
    if (!main_path || read_file(main_path, &files[0], &why) < 0) {
        char text[600];
        snprintf(text, sizeof text,
                 "%s: no main executable found (Contents/Info.plist's "
                 "CFBundleExecutable, or the file in Contents/MacOS)%s%s",
                 path, main_path ? ": " : "", main_path ? why : "");
        jbd_finding(findings, JBD_FAIL, text,
                    "pass the executable itself, or a complete .app");
        goto out;
    }
    files[0].name = join("Contents/MacOS", exe);
    n = 1;
    char *fw = join(contents, "Frameworks");
    DIR *d = fw ? opendir(fw) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < JBD_MAX_FILES) {
        const char *dn = e->d_name;
        size_t len = strlen(dn);
        char *rel = NULL, *full = NULL;
        if (len > 6 && !strcmp(dn + len - 6, ".dylib")) {
            rel = join("Contents/Frameworks", dn);
        } else if (len > 10 && !strcmp(dn + len - 10, ".framework")) {
            char base[256];
            snprintf(base, sizeof base, "%.*s", (int)(len - 10), dn);
            char *dir = join("Contents/Frameworks", dn);
            rel = dir ? join(dir, base) : NULL;
            free(dir);
        }
        full = rel ? join(path, rel) : NULL;
        if (full && read_file(full, &files[n], &why) == 0) {
            files[n++].name = rel;
            rel = NULL;
        }
        free(rel);
        free(full);
    }
    if (d)
        closedir(d);
    free(fw);
out:
    free(main_path);
    free(exe);
    free(macos);
    free(contents);
    return n;
}

size_t jbd_load(const char *path, jbd_file *files, jbd_node *findings,
                int *bundle)
{
    const char *why = "";
    *bundle = is_dir(path);
    if (*bundle)
        return bundle_files(path, files, findings);
    if (read_file(path, &files[0], &why) == 0) {
        files[0].name = strdup(path);
        return 1;
    }
    char text[600];
    snprintf(text, sizeof text, "%s: cannot be read: %s", path, why);
    jbd_finding(findings, JBD_FAIL, text, NULL);
    return 0;
}

void jbd_unload(jbd_file *files, size_t n)
{
    for (size_t f = 0; f < n; f++) {
        free(files[f].p);
        free(files[f].path);
        free(files[f].name);
    }
}
