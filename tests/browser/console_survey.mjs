// A coordinator's survey from sign-in to results: the sign-in page by
// keyboard alone (skip link, the error summary taking focus, a wrong token
// refused), a survey created from the form, opened, codes issued in clear
// per unit, answers sent with them through the public API, the survey
// closed; the four-eyes rule shown to the coordinator who saw the codes,
// and a second coordinator's heat map with its hidden cells marked in text.
import { launch, newPage, args, tabTo, focused } from './lib.mjs';
import { assert, checkView, expected, signIn, signOut, text, viewTitle } from './console_lib.mjs';

const { base, coordA, coordB } = args();
const browser = await launch();
try {
  const page = await newPage(browser, 1280);
  // German, as chosen by ?lang= (the browser's own language is English).
  await page.goto(base + '/?lang=de', { waitUntil: 'networkidle0' });
  await page.waitForSelector('#signin');
  await checkView(page, 'signin');

  // Keyboard: the skip link first, then the token field and the button.
  await page.keyboard.press('Tab');
  let f = await focused(page);
  assert(f.tag === 'a' && f.text === 'Zum Inhalt springen', 'skip link first: ' + JSON.stringify(f));
  await tabTo(page, '#token');
  await tabTo(page, '#signin-submit');
  await page.keyboard.press('Enter'); // nothing typed
  await page.waitForSelector('#signin-error:not([hidden])');
  f = await focused(page);
  assert(f.id === 'signin-error', 'the error summary takes the focus: ' + JSON.stringify(f));
  assert((await text(page, '#signin-error')).includes('Bitte geben Sie Ihr API-Token ein'),
    'empty token announced');
  assert(await page.$eval('#token', (e) => e.getAttribute('aria-invalid')) === 'true', 'aria-invalid');
  await checkView(page, 'signin-error');
  // The error's link leads back to the field.
  await tabTo(page, '#signin-error a');
  await page.keyboard.press('Enter');
  f = await focused(page);
  assert(f.id === 'token', 'the link in the summary focuses the field: ' + JSON.stringify(f));
  await page.keyboard.type('wh_wrong_token_000000000000');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('signin-error').textContent
    .includes('unbekannt'));
  expected(page, 401);
  // The language switch is reachable and switches the page.
  await tabTo(page, 'button[lang="en"]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.documentElement.lang === 'en' &&
    document.getElementById('signin-title').textContent === 'Sign in');
  await tabTo(page, 'button[lang="de"]', { shift: true });
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.documentElement.lang === 'de');
  await tabTo(page, '#token', { shift: true });
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await page.keyboard.type(coordA);
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }),
    page.keyboard.press('Enter')]);
  await page.waitForSelector('#app');
  await viewTitle(page, 'Befragungen');
  // The token is not kept anywhere the page can read.
  const kept = await page.evaluate(() => document.cookie + JSON.stringify(localStorage) +
    JSON.stringify(sessionStorage));
  assert(!kept.includes(coordA.slice(3, 20)), 'token not kept by the page');
  await checkView(page, 'surveys');

  // A survey from the form.
  await page.type('#s-title', 'Befragung 2026');
  await page.type('#s-units', 'A; Amt A\nB; Amt B\nC; Amt C');
  await page.click('#s-create');
  await page.waitForSelector('#survey-open');
  await viewTitle(page, 'Befragung 2026');
  const sid = await page.evaluate(() => window.location.hash.split('/')[2]);
  f = await focused(page);
  assert(f.id === 'view-title', 'focus on the new view\'s heading: ' + JSON.stringify(f));
  await checkView(page, 'survey');
  await page.click('#survey-open');
  await page.waitForSelector('#survey-close');
  assert((await text(page, '#survey-state')) === 'offen', 'open');

  // Codes per unit, shown once.
  const codes = {};
  for (const [unit, n] of [['A', 5], ['B', 5], ['C', 2]]) {
    await page.$eval('#c-count', (e, v) => { e.value = v; }, String(n));
    await page.select('#c-unit', unit);
    await page.click('#c-issue');
    await page.waitForFunction((k) => document.querySelectorAll('#codes-list li').length === k &&
      document.activeElement && document.activeElement.id === 'codes-title', {}, n);
    codes[unit] = await page.$$eval('#codes-list li', (l) => l.map((e) => e.textContent));
    assert(new Set(codes[unit]).size === n, 'distinct codes');
  }
  await checkView(page, 'codes');

  // The employees answer through the public API (no cookie, no token).
  let i = 0;
  for (const unit of ['A', 'B', 'C']) {
    for (const code of codes[unit]) {
      const v = 1 + (i++ % 5);
      const answers = { wl1: v, wl2: 6 - v, wl3: v, su1: 5, su2: 1, le1: 4, le2: 4 };
      const r = await fetch(`${base}/v1/public/surveys/${sid}/responses`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ code, language: 'de', answers }) });
      assert(r.status === 201, 'response stored: ' + r.status + ' ' + await r.text());
    }
  }
  await page.click('#survey-close');
  await page.waitForSelector('#results-link');
  await page.click('#results-link');
  await page.waitForSelector('#results-issuer');
  assert((await text(page, '#results-issuer')).includes('Vier-Augen-Prinzip'), 'four-eyes shown');
  expected(page, 403);
  await checkView(page, 'results-issuer');
  await signOut(page);

  // Another coordinator reads the results.
  await signIn(page, base, coordB);
  await page.goto(`${base}/#/surveys/${sid}/results`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#heatmap');
  const hidden = await page.$$eval('#heatmap td.suppressed', (l) => l.map((e) =>
    e.textContent.replace(/\s+/g, ' ').trim()));
  assert(hidden.length >= 3, 'hidden cells: ' + hidden.length);
  assert(hidden.every((x) => x === '< 5 (verborgen)'), 'hidden marked in text: ' + hidden);
  const rowC = await page.$$eval('#heatmap tbody tr', (rows) => rows.map((r) =>
    r.textContent.replace(/\s+/g, ' ').trim()).find((x) => x.startsWith('Amt C')));
  assert(rowC && rowC.includes('< 5 (verborgen)') && !/Amt C 2/.test(rowC),
    'unit C (2 answers) hidden, its count too: ' + rowC);
  const shown = await page.$$eval('#heatmap td.cell:not(.suppressed)', (l) => l.map((e) =>
    e.textContent));
  assert(shown.length >= 3 && shown.every((x) => /\d,\d (günstig|mittel|kritisch)/.test(x)),
    'shown cells give number and band in words: ' + shown);
  const scopes = await page.$$eval('#heatmap th', (l) => l.map((e) => e.getAttribute('scope')));
  assert(scopes.every((s) => s === 'col' || s === 'row'), 'every header has its scope');
  assert((await text(page, '#hotspots')).length > 0, 'hot spots');
  const csv = await page.$eval('#results-csv', (a) => a.getAttribute('href'));
  const got = await page.evaluate(async (u) => (await fetch(u)).text(), csv);
  assert(got.startsWith('unit,unit_name'), 'CSV download: ' + got.slice(0, 40));
  await checkView(page, 'results');
} finally {
  await browser.close();
}
console.log('console survey journey ok');
