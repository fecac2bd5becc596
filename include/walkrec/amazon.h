/* amazon.h - one line of Amazon product metadata (McAuley 2014 Python literals, 2018 JSON)
 * as a record; prepare.h turns whole files into pairs.
 *
 * One record per line, plain or gzip'd. From each record: asin; relations (2014: the
 * `related` dict with also_bought, also_viewed, bought_together, buy_after_viewing;
 * 2018: top-level also_buy, also_view); side information: brand, category path
 * (2014 `categories` first path, 2018 `category`), price, title, sales rank. Records of
 * the same asin are merged (union of each list); an id repeated in one list counts once;
 * self pairs dropped; weights summed over both directions.
 *
 * One parser reads both formats: Python literals (single- or double-quoted strings with
 * \' \" \\ \n \t \xNN \ooo \uNNNN \UNNNNNNNN escapes, u'' prefixes, True/False/None,
 * trailing commas) and JSON (true/false/null, \uD83D\uDE00 surrogate pairs). Nesting is
 * bounded (WR_AMAZON_MAX_DEPTH). A line is malformed when it is not one dict, when the
 * asin is missing, or when a relation is not a list of ids; ids must be non-empty, at
 * most WR_ID_MAX bytes of valid UTF-8 without control characters. Side fields of an
 * unexpected type are left empty rather than failing the line. */
#ifndef WALKREC_AMAZON_H
#define WALKREC_AMAZON_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/pairs.h"
#include "walkrec/util.h"

#define WR_AMAZON_MAX_DEPTH 64
/* Relationship kinds; 2018's also_buy / also_view are also_bought / also_viewed. */
typedef enum wr_rel {
    WR_REL_BOUGHT_TOGETHER,
    WR_REL_ALSO_BOUGHT,
    WR_REL_ALSO_VIEWED,
    WR_REL_BUY_AFTER_VIEWING,
    WR_REL_KINDS
} wr_rel;

/* Side fields, in the column order of the items file. Each is one line of valid UTF-8:
 * control characters and runs of white space become one space, the ends are trimmed,
 * invalid bytes become U+FFFD. price is "%.2f" (2014 float or 2018 "$1,234.50"), salesrank
 * an integer (2014 first value of salesRank, 2018 leading number of rank), category the
 * path joined with " > ". Empty when absent or unusable. */
typedef enum wr_info {
    WR_INFO_BRAND,
    WR_INFO_CATEGORY,
    WR_INFO_PRICE,
    WR_INFO_TITLE,
    WR_INFO_SALESRANK,
    WR_INFO_FIELDS
} wr_info;

typedef struct wr_amazon_str {
    const char *s; /* NUL-terminated */
    size_t len;
} wr_amazon_str;

/* Everything points into the parser and stays valid until its next parse. */
typedef struct wr_amazon_record {
    wr_amazon_str asin;
    const wr_amazon_str *rel[WR_REL_KINDS]; /* ids in input order, repeats included */
    size_t nrel[WR_REL_KINDS];
    wr_amazon_str info[WR_INFO_FIELDS];    /* all empty unless the parser wants side info */
} wr_amazon_record;

typedef struct wr_amazon_parser wr_amazon_parser;

wr_amazon_parser *amazon_parser_new(int side_info);
void amazon_parser_free(wr_amazon_parser *ps);
/* Parses line[0..len) (need not be NUL-terminated; any bytes). Returns 0 with a record or
 * -1 with err = "column N: reason". A blank line is malformed here; callers skip those. */
int amazon_parse_line(wr_amazon_parser *ps, const char *line, size_t len,
                      wr_amazon_record *rec, wr_err *err);

#endif
