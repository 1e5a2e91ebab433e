// A member's coordinator reads the network's benchmark (each figure the
// API's, the own quartile in words, a box per dimension with its words) and
// a year without one, then the sick-leave figures by unit and by ICD-10
// chapter, the suppressed groups read as such in words.
import { launch, newPage, args } from './lib.mjs';
import { assert, checkView, expected, signIn, text, viewTitle } from './console_lib.mjs';

const a = args();
const bench = JSON.parse(a.bench);
const byUnit = JSON.parse(a.unit);
const byChapter = JSON.parse(a.chapter);
const results = JSON.parse(a.results);
const de = (x, d) => Number(x).toLocaleString('de-DE', { minimumFractionDigits: d,
  maximumFractionDigits: d });
const QUARTER = { 1: 'unteres Viertel', 2: 'zweites Viertel', 3: 'drittes Viertel',
  4: 'oberes Viertel' };
const HIDDEN = 'verborgen (zu wenige Versicherte)';

const cells = (page, id) => page.$$eval('#' + id + ' tbody tr', (rows) => rows.map((r) =>
  [...r.children].map((c) => c.textContent.replace(/\s+/g, ' ').trim())));
const go = async (page, hash, selector) => {
  // The old view goes first, so that the selector is the new view's.
  await page.evaluate((x) => {
    document.getElementById('main').textContent = '';
    window.location.hash = x;
  }, hash);
  await page.waitForSelector(selector);
};

const browser = await launch();
try {
  const page = await newPage(browser, 1280);
  await page.goto(a.base + '/?lang=de', { waitUntil: 'networkidle0' });
  await signIn(page, a.base, a.coord);
  const nav = await text(page, 'nav');
  assert(nav.includes('Netzwerke') && nav.includes('Krankenstand'), 'menu entries: ' + nav);

  await go(page, `#/networks?network=${a.network}&year=${a.year}&template=${a.template}`,
    '#benchmark');
  await viewTitle(page, 'Netzwerke');
  const rows = await cells(page, 'benchmark');
  assert(rows.length === bench.dimensions.length, 'one row per dimension: ' + rows.length);
  bench.dimensions.forEach((d, i) => {
    const own = d.own[0];
    const want = [String(d.orgs), de(d.p25, 2), de(d.median, 2), de(d.p75, 2), de(d.mean, 2),
      de(own.mean, 2), QUARTER[own.quartile]];
    assert(JSON.stringify(rows[i].slice(1, 8)) === JSON.stringify(want),
      `dimension ${d.dimension}: ${JSON.stringify(rows[i])} != ${JSON.stringify(want)}`);
  });
  const alt = await page.$$eval('#benchmark svg[role="img"]', (l) =>
    l.map((s) => s.getAttribute('aria-label')));
  assert(alt.length === bench.dimensions.length && alt.every((x, i) =>
    x.includes('Median ' + de(bench.dimensions[i].median, 2)) &&
    x.includes(QUARTER[bench.dimensions[i].own[0].quartile])), 'boxes in words: ' + alt);
  await checkView(page, 'networks-benchmark');

  await go(page, `#/networks?network=${a.small}&year=${a.year}&template=${a.small_template}`,
    '#benchmark');
  const few = await cells(page, 'benchmark');
  assert(few.length > 0 && few.every((r) => r[2] === 'zu wenige Organisationen für Quartile' &&
    r[3] === '–' && r[4] === '–'), 'too few organisations in words: ' + JSON.stringify(few));
  await checkView(page, 'networks-few');

  await go(page, `#/networks?network=${a.network}&year=${a.year - 1}&template=${a.template}`,
    '#benchmark-none');
  const none = await text(page, '#benchmark-none');
  assert(none.includes('kein Vergleich veröffentlicht'), 'nothing published: ' + none);
  expected(page, 404);
  await checkView(page, 'networks-none');

  await go(page, '#/sickleave', '#sickleave-form');
  await viewTitle(page, 'Krankenstand');
  await page.type('#sl-period', '2025-Q1');
  await page.click('#sl-show');
  await page.waitForSelector('#sickleave');
  const check = async (body, chapter) => {
    const got = await cells(page, 'sickleave');
    assert(got.length === body.items.length, 'one row per item: ' + got.length);
    let hidden = 0;
    body.items.forEach((it, i) => {
      const row = got[i].slice(chapter ? 2 : 1);
      const want = it.suppressed ? [HIDDEN, HIDDEN, HIDDEN, HIDDEN]
        : [de(it.insured, 0), de(it.cases, 0), de(it.days, 0), de(it.rate, 2) + ' %'];
      if (it.suppressed) hidden++;
      assert(JSON.stringify(row) === JSON.stringify(want),
        `item ${i}: ${JSON.stringify(got[i])} != ${JSON.stringify(want)}`);
      assert(got[i][0] === (it.unit === null ? 'ganze Organisation' : it.unit), 'unit ' + got[i]);
      if (chapter) assert(got[i][1] === (it.icd_chapter || 'alle Kapitel'), 'chapter ' + got[i]);
    });
    assert(hidden > 0, 'a suppressed group is shown');
  };
  await check(byUnit, false);
  await checkView(page, 'sickleave-unit');

  await page.click('#sl-by-icd_chapter');
  await page.click('#sl-show');
  await page.waitForFunction(() => document.querySelector('#sickleave thead') &&
    document.querySelector('#sickleave thead').textContent.includes('ICD-10-Kapitel'));
  await check(byChapter, true);
  await checkView(page, 'sickleave-chapter');

  // The survey's results with the sick-leave rate beside each unit.
  await go(page, `#/surveys/${a.survey}/results`, '#results-sickleave');
  await page.type('#r-sickleave', '2025-Q1');
  await page.click('#results-sickleave button');
  await page.waitForFunction(() => document.querySelector('#heatmap thead') &&
    document.querySelector('#heatmap thead').textContent.includes('Krankenstand 2025-Q1'));
  const heat = await cells(page, 'heatmap');
  const slRows = [results.total, ...results.units].map((u) => u.sick_leave);
  assert(heat.length === slRows.length, 'one row per unit: ' + heat.length);
  let hiddenBeside = 0;
  slRows.forEach((x, i) => {
    const want = !x ? 'keine Zahlen' : x.suppressed ? HIDDEN : de(x.rate, 2) + ' %';
    if (x && x.suppressed) hiddenBeside++;
    assert(heat[i][3] === want, `results row ${i}: ${JSON.stringify(heat[i])} != ${want}`);
  });
  assert(hiddenBeside > 0, 'a suppressed unit beside the results');
  if (results.hotspots.length) {
    const hs = await text(page, '#hotspots + ul');
    assert(hs.includes('Krankenstand 2025-Q1:'), 'hot spots with their sick leave: ' + hs);
    assert(!hs.includes('(%)'), 'one percent sign per rate: ' + hs);
  }
  await checkView(page, 'sickleave-results');
} finally {
  await browser.close();
}
console.log('console networks and sick-leave journey ok');
