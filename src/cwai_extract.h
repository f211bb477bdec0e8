/*
 * Small entity extractors over a normalised message (cwai_text.h):
 * dates ("hoje", "amanhã", "quinta", "dia 8", "08/12", "7 de dezembro"),
 * times ("15h", "18h30", "às 16:30", "meio-dia"), parts of the day
 * ("de manhã", "à tarde", "à noite"), an age ("tenho 15 anos"), quantities
 * ("vou levar 2", "os 3 juntos", "tudo").
 *
 * Relative expressions resolve against today (the domain's local date).
 */
#ifndef CWAI_EXTRACT_H
#define CWAI_EXTRACT_H

#include "cwai_common.h"
#include "cwai_domain.h"
#include "cwai_text.h"

typedef enum {
    CWAI_DAYPART_NONE = 0,
    CWAI_DAYPART_MORNING,       /* before 12:00 */
    CWAI_DAYPART_AFTERNOON,     /* 12:00 - 18:00 */
    CWAI_DAYPART_EVENING        /* from 18:00 */
} cwai_daypart_t;

typedef struct {
    cwai_date_t     date;       /* year 0: none */
    int             weekday;    /* named weekday, -1: none */
    int             relative;   /* 1: hoje/amanhã/weekday; 0: explicit day */
    int             time;       /* minutes since midnight, -1: none */
    cwai_daypart_t  daypart;
    int             age;        /* -1: none */
    int             quantity;   /* "levar 2": 2; -1: none */
    int             all;        /* "os 3": 3; "tudo"/"juntos": 99; 0: none */
    int             ndates;     /* distinct dates named */
    int             ntimes;     /* distinct times named */
} cwai_entities_t;

void cwai_extract(const cwai_ntext_t *t, cwai_date_t today, cwai_entities_t *out);

/* Minutes of a time token ("15h", "18h30", "16:30", "9h"), or -1. */
int  cwai_extract_time_token(const char *w, size_t len);

#endif
