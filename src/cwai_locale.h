/*
 * Locale data for the embedded agent: time zones, weekday and month names,
 * dates and money in customer-facing text, and Brazilian places (for
 * shipping regions).
 *
 * Time zones: a built-in table of IANA names -> fixed UTC offsets, for the
 * zones that have no daylight-saving time today (all of Brazil since 2019,
 * most of Latin America, UTC). Reading TZ through setenv()+localtime_r() is
 * not thread-safe and depends on the host's tzdata, so it is not used. A
 * zone with DST is not in the table; a domain in such a zone must give an
 * explicit utc_offset (the agent refuses to load otherwise).
 */
#ifndef CWAI_LOCALE_H
#define CWAI_LOCALE_H

#include "cwai_common.h"
#include "cwai_domain.h"
#include "cwai_text.h"

/* Fixed UTC offset of an IANA zone in minutes (east positive):
 * returns 0 and sets *minutes, or -1 when the zone is unknown. */
int  cwai_tz_offset(const char *iana, int *minutes);

/* A local wall-clock instant. */
typedef struct {
    cwai_date_t  date;
    int          minute;        /* minutes since local midnight */
    int          wday;          /* 0 = Sunday */
} cwai_local_t;

cwai_local_t cwai_local_from_unix(int64_t unix_time, int offset_minutes);
int64_t      cwai_local_to_unix(cwai_date_t date, int minute, int offset_minutes);

/* Language family of a tag: 0 pt (default), 1 en, 2 es. */
int  cwai_lang_family(const char *lang);

/* "quarta" / "Wednesday" / "miércoles" (short, lower case in pt/es). */
const char *cwai_weekday_name(int wday, const char *lang);
/* "quarta-feira" (pt), same as short otherwise. */
const char *cwai_weekday_long(int wday, const char *lang);

/* Writes "02/12" into buf (size >= 6). */
void cwai_fmt_ddmm(cwai_date_t d, char *buf, size_t size);
/* "quarta, 02/12" */
void cwai_fmt_day(cwai_date_t d, const char *lang, char *buf, size_t size);
/* "na quarta, 02/12" / "no sábado, 12/12" (pt), "on Wednesday, 02/12",
 * "el miércoles, 02/12" */
void cwai_fmt_day_on(cwai_date_t d, const char *lang, char *buf, size_t size);
/* 1 if a pt-BR noun phrase is feminine by its first word ("Máscara ...",
 * "Base ...", "Hidratação ...", "Massagem ..."). */
int  cwai_pt_feminine(const char *name);
/* "09:00" */
void cwai_fmt_hhmm(int minute, char *buf, size_t size);
/* "R$ 1.234,56": BRL and pt/es conventions, regardless of the domain. */
size_t cwai_fmt_brl(int64_t cents, char *buf, size_t size);

/* ---- Brazilian places --------------------------------------------------- */

typedef struct {
    const char  *uf;            /* "MG" */
    const char  *group;         /* grande_sp, interior_sp, sul_sudeste,
                                   centro_oeste_nordeste, norte */
    const char  *label;         /* "Belo Horizonte", "São Paulo (capital)", "MG" */
} cwai_place_t;

/* Finds the first Brazilian place (city, state, UF) the text names;
 * returns 1 and fills *out, or 0. */
int  cwai_place_find(const cwai_ntext_t *t, cwai_place_t *out);

#endif
