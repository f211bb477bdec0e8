/*
 * cwai — the ngx_chatwootai command-line tool.
 *
 *   cwai domain check FILE [FILE...]      validate layers (merged in order)
 *   cwai domain new --name NAME --description TEXT [--out FILE]
 *                   [--extends FILE | --standalone] [--force]
 *
 * Exit status: 0 ok, 1 the domain is invalid (or could not be written),
 * 2 usage error.
 */
#include "cwai_domain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void
usage(FILE *f)
{
    fprintf(f,
        "usage:\n"
        "  cwai domain check FILE [FILE...]\n"
        "      Loads the files as layers (base, domain, tenant override; each may\n"
        "      \"extends:\" others), merges and validates them.  Prints\n"
        "      \"ok: NAME (...)\" or \"file:line:col: message\" and exits 1.\n"
        "  cwai domain new --name NAME --description TEXT [--out FILE]\n"
        "                  [--extends FILE | --standalone] [--force]\n"
        "      Writes a skeleton domain that loads.  With --out FILE it extends\n"
        "      the base.yaml next to FILE when there is one (or --extends FILE);\n"
        "      --standalone (and stdout) write a self-contained file.\n");
}

static void
summary(FILE *f, const cwai_domain_t *d)
{
    fprintf(f, "ok: %s (%zu products, %zu services, %zu rules, %zu faqs, %zu intents)\n",
            d->name, d->nproducts, d->nservices, d->nrules, d->nfaqs, d->nintents);
}

static int
cmd_check(int argc, char **argv)
{
    cwai_err_t      err;
    cwai_domain_t  *d;

    if (argc < 1) {
        usage(stderr);
        return 2;
    }
    memset(&err, 0, sizeof(err));
    d = cwai_domain_load((const char *const *) argv, (size_t) argc, &err);
    if (d == NULL) {
        fprintf(stderr, "%s\n", err.detail);
        return 1;
    }
    summary(stdout, d);
    cwai_domain_free(d);
    return 0;
}

/* ---- domain new ----------------------------------------------------------------- */

/* the path of target relative to the directory of from (both as given) */
static void
relative_to(const char *from_file, const char *target, char *out, size_t size)
{
    char  *a = realpath(target, NULL), *dir = NULL, *b;
    char   fromdir[4096];
    const char  *slash = strrchr(from_file, '/');
    size_t common = 0, i;
    int    n = 0;

    if (slash) {
        snprintf(fromdir, sizeof(fromdir), "%.*s", (int) (slash - from_file), from_file);
    } else {
        snprintf(fromdir, sizeof(fromdir), ".");
    }
    dir = realpath(fromdir, NULL);
    if (a == NULL || dir == NULL) {
        snprintf(out, size, "%s", target);
        free(a);
        free(dir);
        return;
    }
    /* longest common directory prefix */
    for (i = 0; a[i] && dir[i] && a[i] == dir[i]; i++) {
        if (a[i] == '/') {
            common = i;
        }
    }
    if (dir[i] == '\0' && a[i] == '/') {
        common = i;
    }
    out[0] = '\0';
    for (b = dir + common; *b; b++) {
        if (*b == '/') {
            n += snprintf(out + n, size - (size_t) n, "../");
            if ((size_t) n >= size) {
                break;
            }
        }
    }
    if ((size_t) n < size) {
        snprintf(out + n, size - (size_t) n, "%s", a + common + 1);
    }
    free(a);
    free(dir);
}

static int
cmd_new(int argc, char **argv)
{
    const char  *name = NULL, *desc = NULL, *out = NULL, *ext = NULL;
    int          force = 0, standalone = 0, i;
    char         id[64], extrel[4096], basecand[4096], *text;
    FILE        *f;
    cwai_err_t   err;
    time_t       now = time(NULL);
    struct tm    tm;
    struct stat  st;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
            name = argv[++i];
        } else if (strcmp(argv[i], "--description") == 0 && i + 1 < argc) {
            desc = argv[++i];
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--extends") == 0 && i + 1 < argc) {
            ext = argv[++i];
        } else if (strcmp(argv[i], "--standalone") == 0) {
            standalone = 1;
        } else if (strcmp(argv[i], "--force") == 0) {
            force = 1;
        } else {
            fprintf(stderr, "cwai domain new: unexpected argument \"%s\"\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (name == NULL || name[0] == '\0') {
        fprintf(stderr, "cwai domain new: --name is required\n");
        return 2;
    }
    if (desc == NULL) {
        desc = "";
    }
    cwai_domain_slugify(name, id, sizeof(id));
    if (id[0] == '\0') {
        fprintf(stderr, "cwai domain new: --name needs at least one ASCII letter or digit\n");
        return 2;
    }
    if (ext && standalone) {
        fprintf(stderr, "cwai domain new: --extends and --standalone exclude each other\n");
        return 2;
    }

    extrel[0] = '\0';
    if (!standalone && out) {
        if (ext == NULL) {
            const char  *slash = strrchr(out, '/');

            if (slash) {
                snprintf(basecand, sizeof(basecand), "%.*s/base.yaml", (int) (slash - out), out);
            } else {
                snprintf(basecand, sizeof(basecand), "base.yaml");
            }
            if (stat(basecand, &st) == 0) {
                ext = basecand;
            }
        }
        if (ext) {
            if (stat(ext, &st) != 0) {
                fprintf(stderr, "cwai domain new: --extends %s: %s\n", ext, strerror(errno));
                return 1;
            }
            relative_to(out, ext, extrel, sizeof(extrel));
        }
    } else if (!standalone && ext) {
        snprintf(extrel, sizeof(extrel), "%s", ext);
    }

    if (out) {
        if (!force && stat(out, &st) == 0) {
            fprintf(stderr, "cwai domain new: %s exists (use --force to overwrite)\n", out);
            return 1;
        }
        f = fopen(out, "w");
        if (f == NULL) {
            fprintf(stderr, "cwai domain new: %s: %s\n", out, strerror(errno));
            return 1;
        }
    } else {
        f = stdout;
    }

    gmtime_r(&now, &tm);
    text = cwai_domain_skeleton(name, desc, extrel[0] ? extrel : NULL, tm.tm_year + 1900, &err);
    if (text == NULL) {
        fprintf(stderr, "cwai domain new: %s\n", err.detail);
        if (f != stdout) {
            fclose(f);
        }
        return 2;
    }
    fputs(text, f);
    free(text);

    if (f != stdout) {
        if (fclose(f) != 0) {
            fprintf(stderr, "cwai domain new: %s: %s\n", out, strerror(errno));
            return 1;
        }
        /* the skeleton must load: prove it */
        {
            cwai_domain_t  *d;
            const char     *paths[1];

            paths[0] = out;
            memset(&err, 0, sizeof(err));
            d = cwai_domain_load(paths, 1, &err);
            if (d == NULL) {
                fprintf(stderr, "cwai domain new: the skeleton does not load: %s\n", err.detail);
                return 1;
            }
            printf("wrote %s\n", out);
            summary(stdout, d);
            cwai_domain_free(d);
        }
    } else {
        fflush(stdout);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0
                      || strcmp(argv[1], "help") == 0))
    {
        usage(stdout);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "domain") == 0) {
        if (strcmp(argv[2], "check") == 0) {
            return cmd_check(argc - 3, argv + 3);
        }
        if (strcmp(argv[2], "new") == 0) {
            return cmd_new(argc - 3, argv + 3);
        }
    }
    usage(stderr);
    return 2;
}
