// An administrator's view of the programme: agreements with their phase and
// days to the notice deadline, one agreement with its activities and
// reminders, the insurer's prevention report with charts that have a
// table beside them, and notifications; each passes axe at both widths.
import { launch, newPage, args } from './lib.mjs';
import { assert, checkView, signIn, text, viewTitle } from './console_lib.mjs';

const { base, admin, agreement, insurer, year } = args();
const browser = await launch();
try {
  const page = await newPage(browser, 1280);
  await page.goto(base + '/?lang=de', { waitUntil: 'networkidle0' });
  await signIn(page, base, admin);
  await page.goto(base + '/#/agreements', { waitUntil: 'networkidle0' });
  await page.waitForSelector('#agreements');
  const row = await text(page, '#agreements tbody tr');
  assert(row.includes('BGF-Kooperation') && row.includes('laufend') && /\d+ Tage/.test(row),
    'phase and days to the notice deadline: ' + row);
  await checkView(page, 'agreements');
  await page.click(`a[href="#/agreements/${agreement}"]`);
  await viewTitle(page, 'BGF-Kooperation');
  await page.waitForSelector('table');
  const body = await text(page, 'main');
  assert(body.includes('Gesundheitstag') && body.includes('durchgeführt'), 'activities: ' + body);
  assert(body.includes('Erinnerungen') && body.includes('fällig'), 'reminders: ' + body);
  await checkView(page, 'agreement');

  await page.goto(`${base}/#/report?insurer=${insurer}&year=${year}`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#report-figures');
  const charts = await page.$$eval('figure', (l) => l.map((f) => ({
    svg: !!f.querySelector('svg[role="img"][aria-labelledby]'),
    bars: f.querySelectorAll('rect.bar').length,
    rows: f.querySelectorAll('table tbody tr').length })));
  assert(charts.length === 2 && charts.every((c) => c.svg && c.bars === c.rows && c.rows > 0),
    'each chart has a text alternative and a table of its bars: ' + JSON.stringify(charts));
  const figures = await page.$$eval('#report-figures dt', (l) => Object.fromEntries(l.map((dt) =>
    [dt.textContent, dt.nextElementSibling.textContent])));
  assert(figures['Teilnehmende'] === '40' && figures['Durchgeführte Aktivitäten'] === '2',
    'the year\'s figures: ' + JSON.stringify(figures));
  await checkView(page, 'report');

  await page.goto(base + '/#/deliveries', { waitUntil: 'networkidle0' });
  await viewTitle(page, 'Benachrichtigungen');
  await page.waitForFunction(() => document.body.textContent.includes('organization.updated'));
  await checkView(page, 'deliveries');
} finally {
  await browser.close();
}
console.log('console programme journey ok');
