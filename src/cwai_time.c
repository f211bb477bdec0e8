#include "cwai_time.h"
#include "cwai_locale.h"

static int
num(const char *s, size_t n, int *out)
{
    int  v = 0;

    while (n--) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        v = v * 10 + (*s++ - '0');
    }
    *out = v;
    return 0;
}

int
cwai_parse_iso8601(const char *s, size_t len, int64_t *out)
{
    static const int  mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int               hh, mm, ss, oh, om, sign, leap;
    size_t            i;
    cwai_date_t       d;

    /* YYYY-MM-DDTHH:MM:SS */
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ')
        || s[13] != ':' || s[16] != ':'
        || num(s, 4, &d.year) || num(s + 5, 2, &d.month) || num(s + 8, 2, &d.day)
        || num(s + 11, 2, &hh) || num(s + 14, 2, &mm) || num(s + 17, 2, &ss))
    {
        return -1;
    }
    leap = (d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0;
    if (d.year < 1970 || d.month < 1 || d.month > 12 || d.day < 1
        || d.day > mdays[d.month - 1] || (d.month == 2 && d.day == 29 && !leap)
        || hh > 23 || mm > 59 || ss > 60)
    {
        return -1;
    }

    i = 19;
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) { /* void */ }
    }
    if (i == len) {
        return -1;                      /* no offset */
    }
    if (s[i] == 'Z' && i + 1 == len) {
        oh = om = 0;
        sign = 1;
    } else if ((s[i] == '+' || s[i] == '-') && i + 6 == len && s[i + 3] == ':'
               && num(s + i + 1, 2, &oh) == 0 && num(s + i + 4, 2, &om) == 0
               && oh <= 14 && om <= 59)
    {
        sign = s[i] == '-' ? -1 : 1;
    } else {
        return -1;
    }

    *out = cwai_local_to_unix(d, hh * 60 + mm, sign * (oh * 60 + om)) + ss;
    return 0;
}
