/*
 * Text normalisation and tokenisation for customer messages (Brazilian
 * Portuguese first; English and Spanish recognised).
 *
 *   "Oiee, vcs têm SÉRUM de niacinamida?? qto tá"
 *     -> tokens: oi voces tem serum de niacinamida quanto esta
 *
 * Steps, in order: UTF-8 decode; lower case; accents folded to ASCII
 * (á->a, ç->c, ...); emoji and symbols become separators (and are counted);
 * punctuation becomes a separator, except inside numbers ("69,90", "1.234",
 * "18:30", "10%") and the currency sign "r$"; runs of 3+ identical letters
 * collapse to one ("siiim" -> "sim") and a doubled vowel at the end of a word
 * to one ("diaa" -> "dia"); WhatsApp abbreviations and slang expand
 * ("vc" -> "voce", "qto" -> "quanto", "oq" -> "o que"); fixed expressions
 * become one token ("à prova d'água" -> "aprovadagua"); each word gets a
 * light plural/infinitive stem ("hidratantes" -> "hidratante", "promocoes"
 * -> "promocao", "mandar" -> "manda") and a stopword flag (greetings such as
 * "boa noite" count as stopwords: they carry no topic). Optional typo
 * correction against a vocabulary (cwai_vocab_t: edit distance 1, or 2 for
 * long words, symmetric-delete lookup).
 *
 * Everything is deterministic and reentrant: the tables are const, state
 * lives in the caller's cwai_ntext_t.
 */
#ifndef CWAI_TEXT_H
#define CWAI_TEXT_H

#include "cwai_common.h"

#define CWAI_TEXT_MAX_INPUT   8192    /* longer input is truncated */

typedef enum {
    CWAI_TOK_WORD = 0,          /* letters only */
    CWAI_TOK_NUM,               /* digits, maybe with , . : inside, maybe % */
    CWAI_TOK_MIXED              /* letters and digits: "18h30", "6x", "fps50" */
} cwai_tok_kind_t;

typedef struct {
    const char  *w;             /* normalised word (NUL-terminated) */
    const char  *stem;          /* light stem of w (may equal w) */
    const char  *raw;           /* folded word before slang/typo fixes */
    uint16_t     wlen;
    uint16_t     stemlen;
    uint16_t     rawlen;
    uint8_t      kind;          /* cwai_tok_kind_t */
    uint8_t      brk;           /* 1: a sentence or bubble boundary precedes */
    uint8_t      stop;          /* 1: a stopword (ignored for retrieval) */
    uint8_t      fixed;         /* 1: changed by slang or typo correction */
} cwai_tok_t;

typedef struct {
    char        *buf;           /* arena for all token strings */
    size_t       buf_len, buf_cap;
    cwai_tok_t  *tok;
    size_t       ntok, tok_cap;
    char        *folded;        /* the folded input, tokens space-separated */
    size_t       folded_len;
    unsigned     n_emoji;       /* emoji / pictographs seen */
    unsigned     n_question;    /* '?' seen */
    unsigned     n_exclaim;     /* '!' seen */
    unsigned     n_bubbles;     /* newline-separated parts (>= 1) */
} cwai_ntext_t;

typedef struct cwai_vocab_s  cwai_vocab_t;

/* Parses s (UTF-8, need not be NUL-terminated). Returns 0, or -1 on
 * allocation failure. cwai_text_free() releases what parse allocated; a
 * zeroed cwai_ntext_t may be parsed into and freed. */
int  cwai_text_parse(cwai_ntext_t *t, const char *s, size_t len);
void cwai_text_free(cwai_ntext_t *t);

/* Corrects unknown words (not in v, length >= 4, letters only) to the most
 * frequent vocabulary word within edit distance 1 (2 when length >= 8).
 * Returns the number of tokens changed. */
int  cwai_text_correct(cwai_ntext_t *t, const cwai_vocab_t *v);

/* Folds s to lower-case ASCII without accents into out (always
 * NUL-terminated, returns the length written). Punctuation is kept. */
size_t cwai_text_fold(const char *s, size_t len, char *out, size_t cap);

/* Light plural and infinitive stemmer on a folded word; writes into out (cap >= len + 1),
 * returns the new length. */
size_t cwai_text_stem(const char *w, size_t len, char *out);

/* 1 if the folded word is a pt/en/es stopword. */
int  cwai_text_is_stopword(const char *w, size_t len);

/* Expansion of a folded abbreviation or slang word, or NULL. */
const char *cwai_text_slang(const char *w, size_t len);

/* Guess of the message language from its raw tokens: "pt-BR" (default),
 * "en" or "es". */
const char *cwai_text_language(const cwai_ntext_t *t);

/* Index of the first token equal to word at or after from, or -1. */
int  cwai_text_find(const cwai_ntext_t *t, const char *word, size_t from);

/* 1 if the token sequence contains the phrase (space-separated normalised
 * words; a word ending in '*' matches as a prefix; matched on w or stem). */
int  cwai_text_has_phrase(const cwai_ntext_t *t, const char *phrase);

/* --- vocabulary for typo correction ------------------------------------ */

cwai_vocab_t *cwai_vocab_new(void);
void   cwai_vocab_free(cwai_vocab_t *v);
/* Adds a folded word (count 1, or +1 if present). Returns 0 or -1. */
int    cwai_vocab_add(cwai_vocab_t *v, const char *w, size_t len);
/* Adds every word of a text (folded and slang-expanded). */
int    cwai_vocab_add_text(cwai_vocab_t *v, const char *s, size_t len);
/* Builds the lookup tables; call once after the last add. */
int    cwai_vocab_freeze(cwai_vocab_t *v);
int    cwai_vocab_has(const cwai_vocab_t *v, const char *w, size_t len);
/* The correction of w, or NULL if w is known or nothing is close enough. */
const char *cwai_vocab_correct(const cwai_vocab_t *v, const char *w, size_t len);
size_t cwai_vocab_size(const cwai_vocab_t *v);
size_t cwai_vocab_bytes(const cwai_vocab_t *v);

/* Damerau-Levenshtein (optimal string alignment) distance, capped at max+1. */
int    cwai_text_distance(const char *a, size_t al, const char *b, size_t bl, int max);

#endif
