/* The printable sheet of participation codes (delivery "print"): an HTML
 * page of slips for an A4 printer, each with the survey's title, the code in
 * large type, the participation address and a QR code of the personal link
 * WH_PUBLIC_URL/s/{survey_id}?c={code}, drawn as inline SVG from
 * libqrencode's modules (error correction M, a four-module quiet zone), so
 * that the sheet needs nothing else to print. */
#ifndef SURVEYS_SHEET_H
#define SURVEYS_SHEET_H

#include <stddef.h>

#include "buf.h"
#include "code.h"
#include "survey.h"

/* The participation link of one code into out (NUL-terminated); false when
 * it does not fit. */
bool sheet_link(const char *base_url, const char *survey_id, const char *code, char *out,
                size_t cap);
/* Appends one QR code of text as an SVG element; WH_EINVAL when the text
 * cannot be encoded. */
int sheet_qr_svg(wh_buf_t *out, const char *text);
/* Appends the whole sheet for n codes. */
int sheet_render(wh_buf_t *out, const survey_t *s, const char *base_url, wh_str_t unit,
                 const char (*codes)[CODE_SHOWN_LEN + 1], size_t n);

#endif
