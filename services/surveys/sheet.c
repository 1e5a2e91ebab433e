#include "sheet.h"

#include <qrencode.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

#define QUIET 4 /* modules of white around the symbol */

static const struct labels {
    const char *lang, *heading, *intro, *how, *once;
} LABELS[] = {
    {"de", "Teilnahmecodes", "Ihr persönlicher Code für die anonyme Befragung",
     "QR-Code scannen oder die Adresse öffnen und den Code eingeben:",
     "Gilt für eine Teilnahme. Bitte nicht weitergeben."},
    {"en", "Participation codes", "Your personal code for the anonymous survey",
     "Scan the QR code, or open the address and enter the code:",
     "Valid for one participation. Please do not pass it on."},
    {"sv", "Deltagarkoder", "Din personliga kod för den anonyma enkäten",
     "Skanna QR-koden eller öppna adressen och ange koden:",
     "Gäller för ett deltagande. Lämna inte vidare."},
};

bool sheet_link(const char *base_url, const char *survey_id, const char *code, char *out,
                size_t cap)
{
    int n = snprintf(out, cap, "%s/s/%s?c=%s", base_url, survey_id, code);
    return n > 0 && (size_t)n < cap;
}

int sheet_qr_svg(wh_buf_t *out, const char *text)
{
    QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (!qr)
        return WH_EINVAL;
    int w = qr->width, size = w + 2 * QUIET;
    wh_buf_printf(out,
                  "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
                  " shape-rendering=\"crispEdges\" aria-hidden=\"true\">"
                  "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
                  "<path stroke=\"#000\" stroke-width=\"1\" d=\"",
                  size, size, size, size);
    /* One stroke through the middle of each horizontal run of dark
     * modules: "M x y.5" starts a row, "m dx 0" skips light modules, "h n"
     * draws n modules, which keeps a sheet of many slips small. */
    for (int y = 0; y < w; y++) {
        int pen = -1; /* x after the last run of this row; -1 before the first */
        for (int x = 0; x < w;) {
            if (!(qr->data[y * w + x] & 1)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < w && (qr->data[y * w + x + run] & 1))
                run++;
            if (pen < 0)
                wh_buf_printf(out, "M%d %d.5h%d", x + QUIET, y + QUIET, run);
            else
                wh_buf_printf(out, "m%d 0h%d", x - pen, run);
            x += run;
            pen = x;
        }
    }
    wh_buf_puts(out, "\"/></svg>");
    QRcode_free(qr);
    return wh_buf_failed(out) ? WH_ENOMEM : 0;
}

int sheet_render(wh_buf_t *out, const survey_t *s, const char *base_url, wh_str_t unit,
                 const char (*codes)[CODE_SHOWN_LEN + 1], size_t n)
{
    const char *lang = def_languages[s->def.n_langs > 0 ? s->def.langs[0] : 0];
    const struct labels *l = &LABELS[0];
    for (size_t i = 0; i < sizeof LABELS / sizeof LABELS[0]; i++)
        if (strcmp(LABELS[i].lang, lang) == 0)
            l = &LABELS[i];
    wh_str_t unit_name = {0};
    int u = unit.p ? def_find_unit(&s->def, unit) : -1;
    if (u >= 0)
        unit_name = s->def.units[u].name;
    wh_buf_printf(out,
                  "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                  "<title>%s: ",
                  l->lang, l->heading);
    wh_buf_html(out, s->title, strlen(s->title));
    wh_buf_puts(out, "</title><style>"
                     "@page{size:A4;margin:10mm}"
                     "body{font-family:sans-serif;margin:0;color:#000}"
                     "h1{font-size:14pt;margin:0 0 4mm}"
                     ".slips{display:flex;flex-wrap:wrap}"
                     ".slip{box-sizing:border-box;width:50%;height:62mm;padding:4mm;"
                     "border:1px dashed #777;break-inside:avoid;page-break-inside:avoid;"
                     "display:flex;gap:4mm}"
                     ".qr{width:36mm;height:36mm;flex:none}"
                     ".code{font:bold 14pt monospace;letter-spacing:1px;white-space:nowrap}"
                     ".url{font:9pt monospace;word-break:break-all}"
                     "p{margin:0 0 2mm;font-size:10pt}"
                     "@media print{h1{display:none}}"
                     "</style></head><body><h1>");
    wh_buf_html(out, s->title, strlen(s->title));
    if (unit_name.p) {
        wh_buf_puts(out, " – ");
        wh_buf_html(out, unit_name.p, unit_name.n);
    }
    wh_buf_printf(out, " (%zu)</h1><div class=\"slips\">\n", n);
    char base[600];
    int bn = snprintf(base, sizeof base, "%s/s/%s", base_url, s->id);
    if (bn < 0 || (size_t)bn >= sizeof base)
        return WH_ELIMIT;
    for (size_t i = 0; i < n; i++) {
        char link[700];
        if (!sheet_link(base_url, s->id, codes[i], link, sizeof link))
            return WH_ELIMIT;
        wh_buf_puts(out, "<div class=\"slip\">");
        int rc = sheet_qr_svg(out, link);
        if (rc != 0)
            return rc;
        wh_buf_printf(out, "<div><p>%s: <strong>", l->intro);
        wh_buf_html(out, s->title, strlen(s->title));
        wh_buf_printf(out, "</strong></p><p>%s</p><p class=\"url\">", l->how);
        wh_buf_html(out, base, (size_t)bn);
        wh_buf_printf(out, "</p><p class=\"code\">%s</p><p>%s</p></div></div>\n", codes[i],
                      l->once);
    }
    wh_buf_puts(out, "</div></body></html>\n");
    return wh_buf_failed(out) ? WH_ENOMEM : 0;
}
